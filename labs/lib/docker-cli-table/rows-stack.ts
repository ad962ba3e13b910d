/**
 * The docker CLI table, part 4: a compose stack (deploy, ls, services, ps, a redeploy
 * with a changed image, rm), system events over the whole run, Docker endpoints Shoal
 * deliberately does not serve, and taking everything down again down to `swarm leave`.
 */
import type { Row } from './runner.ts';

const NS = 'label=com.docker.stack.namespace=tblapp';

export const STACK_ROWS: Row[] = [
  { cmd: 'stack deploy -c stack.yml tblapp', mark: 'EV', out: /^(?=[^]*Creating network tblapp_public\n)(?=[^]*Creating network tblapp_private\n)(?=[^]*Creating secret tblapp_dbpw\n)(?=[^]*Creating config tblapp_appconf\n)(?=[^]*Creating service tblapp_front\n)(?=[^]*Creating service tblapp_back\n)/ },
  { cmd: 'stack ls', out: /^NAME +SERVICES.*\ntblapp +2\b/ },
  { cmd: "stack ls --format '{{.Name}} {{.Services}}'", out: /^tblapp 2\n$/ },
  { cmd: 'stack services tblapp', until: true, out: /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS\n(?=[^]*tblapp_front +replicated +2\/2 +192\.168\.100\.1:5000\/shoal\/bb:v1 +\*:8081->80\/tcp\n)(?=[^]*tblapp_back +replicated +1\/1 )/ },
  { cmd: "stack services --format '{{.Name}} {{.Replicas}}' tblapp", until: true, out: /^tblapp_back 1\/1\ntblapp_front 2\/2\n$/ },
  { cmd: "stack services --filter name=tblapp_front -q tblapp", out: /^\w{12}\n$/ },
  { cmd: 'stack ps tblapp', until: true, out: /^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR +PORTS\n(?=[^]*tblapp_front\.1 +\S+ +h[12] +Running +Running )/ },
  { cmd: "stack ps --filter desired-state=running --format '{{.Name}} {{.CurrentState}}' tblapp", until: true, out: /^(tblapp_\w+\.\d Running .+\n){3}$/ },
  { cmd: 'stack ps -q tblapp', out: /^(\w{12}\n){3}$/ },
  { cmd: `network ls --filter ${NS} --format '{{.Name}}'`, out: /^(?=[^]*^tblapp_public$)(?=[^]*^tblapp_private$)/m },
  { cmd: `secret ls --filter ${NS} --format '{{.Name}}'`, out: /^tblapp_dbpw\n$/ },
  { cmd: `config ls --filter ${NS} --format '{{.Name}}'`, out: /^tblapp_appconf\n$/ },
  { cmd: `service ls --filter ${NS} --format '{{.Name}}'`, out: /^tblapp_back\ntblapp_front\n$/ },
  { cmd: "service inspect --format '{{index .Spec.Labels \"com.docker.stack.image\"}} {{.Spec.TaskTemplate.ContainerSpec.Env}}' tblapp_back", out: /^192\.168\.100\.1:5000\/shoal\/bb:v1 \[ROLE=back\]\n$/ },
  { cmd: "network inspect --format '{{.Attachable}}' tblapp_private", out: /^true\n$/ },
  { cmd: 'stack deploy -c stack.yml tblapp', env: { TAG: 'v2' }, out: /Updating service tblapp_front \(id: \w+\)/ },
  { cmd: "stack ps --filter desired-state=running --format '{{.Name}} {{.Image}}' tblapp", until: true, out: /^(?=[^]*tblapp_front\.1 \S+bb:v2\n)(?=[^]*tblapp_front\.2 \S+bb:v2\n)(?=[^]*tblapp_back\.1 \S+bb:v1\n)/ },
  { cmd: "service inspect --format '{{.UpdateStatus.State}}' tblapp_front", until: true, out: /^completed\n$/ },
  { cmd: 'stack rm tblapp', out: /^(?=[^]*Removing service tblapp_front\n)(?=[^]*Removing service tblapp_back\n)(?=[^]*Removing secret tblapp_dbpw\n)(?=[^]*Removing config tblapp_appconf\n)(?=[^]*Removing network tblapp_public\n)(?=[^]*Removing network tblapp_private\n)/ },
  { cmd: "stack ls --format '{{.Name}}'", until: true, out: /^$/ },
  { cmd: `network ls -q --filter ${NS}`, until: true, out: /^$/ },
  { cmd: 'stack ps tblapp', until: true, exit: 1, err: /[Nn]othing found in stack: tblapp/ },

  // Events since the stack deploy (Docker keeps only its last 256 events, so the window is short).
  { cmd: "events --since {EV} --until 0s --filter type=service --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'", out: /^(?=[^]*^service create tblapp_front$)(?=[^]*^service update tblapp_front$)(?=[^]*^service remove tblapp_front$)(?=[^]*^service remove tblapp_back$)/m },
  { cmd: "system events --since {EV} --until 0s --filter type=secret --filter event=create --format '{{.Action}} {{.Actor.Attributes.name}}'", out: /^(?=[^]*^create tblapp_dbpw$)(?![^]*^remove)/m },
  { cmd: "events --since {EV} --until 0s --filter type=config --format '{{.Action}} {{.Actor.Attributes.name}}'", out: /^(?=[^]*^create tblapp_appconf$)(?=[^]*^remove tblapp_appconf$)/m },
  { cmd: "events --since {EV} --until 0s --filter type=network --filter event=create --format '{{.Actor.Attributes.name}}'", out: /^(?=[^]*^tblapp_public$)(?=[^]*^tblapp_private$)/m },
  { cmd: 'events --since {EV} --until 0s', out: /^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d) service create \w+ \(name=tblapp_front\)$/m },

  // Deliberately not implemented on Shoal: a clear error naming the endpoint.
  { cmd: 'plugin ls', exit: 1, err: /shoal: GET \/plugins is not implemented/, peer: { why: 'Docker serves plugins', out: /^ID +NAME/ } },
  { cmd: 'swarm leave', exit: 1, err: /--force/ },
  { cmd: 'node rm h2', exit: 1, err: /h2|down/ },

  // Taking it all down.
  { cmd: 'service rm tbl_web tbl_probe', out: /^tbl_web\ntbl_probe\n$/ },
  { cmd: 'secret rm tbl_pw tbl_key', until: true, out: /^tbl_pw\ntbl_key\n$/ },
  { cmd: 'config rm tbl_conf', until: true, out: /^tbl_conf\n$/ },
  { cmd: 'network rm tbl_front tbl_back', until: true, out: /^tbl_front\ntbl_back\n$/ },
  { cmd: "network ls --filter label=app=tbl -q", until: true, out: /^$/ },
  { cmd: 'service ls -q', out: /^$/ },
  { on: 'h2', cmd: 'swarm leave', out: /Node left the swarm\./ },
  { on: 'h2', cmd: "info --format '{{.Swarm.LocalNodeState}}'", out: /^inactive\n$/ },
  { cmd: "node ls --filter name=h2 --format '{{.Status}}'", until: true, out: /^Down\n$/ },
  { cmd: 'node rm h2', out: /^h2\n$/ },
  { cmd: 'node ls -q', out: '^{NODE1}\\n$' },
  { cmd: 'swarm leave --force', out: /Node left the swarm\./ },
  { cmd: "info --format '{{.Swarm.LocalNodeState}}'", until: true, out: /^inactive\n$/ },
];
