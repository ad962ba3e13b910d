/**
 * Which compose service keys `shoal stack deploy` applies, which ones Docker's own
 * `docker stack deploy` ignores with a warning (Shoal prints the same warning), and
 * which are refused because Shoal cannot apply them. A key in none of the lists is
 * refused too: nothing is silently dropped.
 */

/** Keys the converter turns into ServiceSpec fields. */
export const APPLIED_SERVICE_KEYS: ReadonlySet<string> = new Set([
  'image', 'command', 'entrypoint', 'environment', 'env_file', 'labels', 'ports', 'networks',
  'healthcheck', 'secrets', 'configs', 'volumes', 'stop_grace_period', 'stop_signal', 'user',
  'working_dir', 'hostname', 'cap_add', 'cap_drop', 'sysctls', 'ulimits', 'deploy', 'extra_hosts',
  'read_only', 'restart', 'isolation',
  // Docker's stack deploy ignores the next four (it has no service fields for them); Shoal applies them.
  'init', 'devices', 'shm_size', 'privileged',
]);

/** Keys `docker stack deploy` ignores ("Ignoring unsupported options: …"), as it does. */
export const DOCKER_IGNORED_KEYS: ReadonlySet<string> = new Set([
  'build', 'cgroupns_mode', 'cgroup_parent', 'domainname', 'external_links', 'ipc', 'links',
  'mac_address', 'network_mode', 'pid', 'security_opt', 'userns_mode', 'depends_on',
]);

/** Keys `docker stack deploy` ignores as deprecated ("Ignoring deprecated options: …"). */
export const DOCKER_DEPRECATED_KEYS: ReadonlySet<string> = new Set(['container_name', 'expose']);

/** Keys Docker applies and Shoal does not yet, with what they would ask for. */
export const REFUSED_SERVICE_KEYS: Readonly<Record<string, string>> = {
  dns: 'DNS servers for the task',
  dns_search: 'DNS search domains for the task',
  dns_opt: 'DNS resolver options for the task',
  tty: 'a terminal for the task',
  stdin_open: 'an open stdin for the task',
  logging: 'a log driver for the task (Shoal keeps its own task logs)',
  credential_spec: 'credential specs',
  group_add: 'supplementary groups',
};

/** Deploy keys the converter applies. */
export const APPLIED_DEPLOY_KEYS: ReadonlySet<string> = new Set([
  'mode', 'replicas', 'placement', 'resources', 'restart_policy', 'update_config', 'rollback_config', 'labels', 'endpoint_mode',
]);
