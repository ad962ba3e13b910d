/**
 * The docker CLI table, part 3: services (create, ls and ps with filters and formats,
 * inspect, scale, update, rollback, logs), and what a user does on a node with the
 * containers of the tasks (ps, exec, logs, inspect).
 */
import type { Row } from './runner.ts';

const WEB = "sh -c 'mkdir -p /www && cat /etc/app.conf > /www/index.html && exec httpd -f -p 80 -h /www'";
const TALK = "sh -c 'i=0; while true; do echo line $i; i=$((i+1)); sleep 1; done'";
/** Docker's VIPs need IPVS, which the lab's kernel lacks: `wget` through a VIP fails (no route, 1) or times out (143). */
const NO_IPVS = { why: 'the lab kernel has no IPVS, so Docker\'s service VIPs do not answer there', exit: [1, 143] };
/** An image reference as a service spec holds it: Docker pins a digest when it can resolve one. */
const pinned = (tag: string) => `192\\.168\\.100\\.1:5000/shoal/bb:${tag}(@sha256:[0-9a-f]{64})?`;

export const SERVICE_ROWS: Row[] = [
  {
    cmd: `service create -d --name tbl_web --replicas 2 --publish 8080:80 --network tbl_front --label app=tbl --config source=tbl_conf,target=/etc/app.conf --stop-grace-period 1s {IMG} ${WEB}`,
    out: /^\w{25}\n$/,
  },
  { cmd: 'service create -d --name tbl_probe --mode global --network tbl_front --network tbl_back --secret tbl_pw --stop-grace-period 1s {IMG} sleep 3600', out: /^\w{25}\n$/ },
  { cmd: `service create --detach=false --name tbl_talk --mode global --stop-grace-period 1s {IMG} ${TALK}`, out: /verify: Service (tbl_talk|\w{25}) converged/ },
  { cmd: 'service create -d --name tbl_web {IMG}', exit: 1, err: /already exists/ },
  { cmd: 'service ls', until: true, out: /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS\n(?=[^]*\w{12} +tbl_web +replicated +2\/2 +192\.168\.100\.1:5000\/shoal\/bb:v1 +\*:8080->80\/tcp\n)(?=[^]*tbl_probe +global +2\/2 +)/ },
  { cmd: "service ls --filter name=tbl_web --format '{{.Name}} {{.Mode}} {{.Replicas}} {{.Ports}}'", until: true, out: /^tbl_web replicated 2\/2 \*:8080->80\/tcp\n$/ },
  { cmd: "service ls --filter mode=global --format '{{.Name}} {{.Replicas}}'", until: true, out: /^tbl_probe 2\/2\ntbl_talk 2\/2\n$/ },
  { cmd: "service ls --filter label=app=tbl --format '{{.Name}}'", out: /^tbl_web\n$/ },
  { cmd: 'service ls -q --filter name=tbl_', out: /^\w{12}\n\w{12}\n\w{12}\n$/ },
  { cmd: 'service ps tbl_web', until: true, out: /^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR +PORTS\n(?=[^]*\w{12} +tbl_web\.1 +192\.168\.100\.1:5000\/shoal\/bb:v1 +h[12] +Running +Running )(?=[^]*tbl_web\.2 )/ },
  { cmd: "service ps --filter desired-state=running --format '{{.Name}} {{.DesiredState}}' tbl_web", out: /^(?=[^]*^tbl_web\.1 Running$)(?=[^]*^tbl_web\.2 Running$)/m },
  { cmd: "service ps --filter node=h2 --format '{{.Node}} {{.CurrentState}}' tbl_probe", until: true, out: /^h2 Running .+\n$/ },
  { cmd: "service ps --filter name=tbl_web.1 --format '{{.Name}}' tbl_web", out: /^tbl_web\.1\n$/ },
  { cmd: 'service ps -q tbl_web', out: /^\w+\n\w+\n$/ },
  { cmd: "service ps --no-trunc --format '{{.ID}}' tbl_web", out: /^\w{25}\n\w{25}\n$/ },
  { cmd: "service ps --format 'table {{.Name}}\t{{.Node}}' tbl_web", out: /^NAME +NODE\ntbl_web\.\d +h[12]\n/ },
  { cmd: "service ps --format '{{.Name}}' tbl_probe", out: '^(?=[^]*^tbl_probe\\.{NODE1}$)(?=[^]*^tbl_probe\\.{NODE2}$)' },
  { cmd: "service ps --format '{{.Name}}' tbl_web tbl_talk", out: /^(?=(?:[^]*^tbl_\w+\.\w+$){4})/m },
  { cmd: 'service ps -q --filter desired-state=shutdown tbl_web', out: /^$/ },
  { cmd: 'service ps nosuchsvc', exit: 1, err: /nosuchsvc/ },
  { cmd: 'service ps -q --filter desired-state=running tbl_talk', out: /^\w+\n\w+\n$/, save: ['TALKTASK', /^(\w+)/] },
  { cmd: "service inspect --format '{{.Spec.Mode.Replicated.Replicas}} {{index .Spec.Labels \"app\"}}' tbl_web", out: /^2 tbl\n$/ },
  { cmd: "service inspect --format '{{range .Endpoint.Ports}}{{.PublishedPort}}/{{.Protocol}}->{{.TargetPort}} {{.PublishMode}}{{end}}' tbl_web", out: /^8080\/tcp->80 ingress\n$/ },
  { cmd: "service inspect --format '{{len .Endpoint.VirtualIPs}}' tbl_web", until: true, out: /^2\n$/ },
  { cmd: "service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{.File.Name}}{{end}}' tbl_probe", out: /^tbl_pw tbl_pw\n$/ },
  { cmd: "service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}} {{.File.Name}}{{end}}' tbl_web", out: /^tbl_conf \/etc\/app\.conf\n$/ },
  { cmd: "service inspect --format '{{.Spec.Mode.Global}}' tbl_probe", out: /^\{\}\n$/ },
  { cmd: 'service inspect --pretty tbl_web', out: /Name:\s+tbl_web\n[^]*Service Mode:\s+Replicated\n\s+Replicas:\s+2\n[^]*PublishedPort = 8080/ },
  { cmd: 'service inspect nosuchsvc', exit: 1, err: /nosuchsvc/ },

  // On a node: the containers of the tasks there.
  { cmd: "ps --filter label=com.docker.swarm.service.name=tbl_probe --format '{{.Names}} {{.Status}}'", until: true, out: /^tbl_probe\.\w+\.\w+ Up /, save: ['PROBE1', /^(\S+)/] },
  { on: 'h2', cmd: "ps --filter label=com.docker.swarm.service.name=tbl_probe --format '{{.Names}}'", until: true, out: /^tbl_probe\.\w+\.\w+\n$/, save: ['PROBE2', /^(\S+)/] },
  { cmd: 'ps', out: /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES\n(?=[^]*tbl_probe\.)/ },
  { cmd: "ps -q --filter label=com.docker.swarm.service.name=tbl_talk", out: /^\w{12}\n$/, save: ['TALK1', /^(\w+)/] },
  { cmd: "inspect --format '{{.State.Status}} {{index .Config.Labels \"com.docker.swarm.service.name\"}}' {PROBE1}", out: /^running tbl_probe\n$/ },
  { cmd: 'exec {PROBE1} cat /run/secrets/tbl_pw', out: /^s3cret$/ },
  { cmd: "exec {PROBE1} sh -c 'exit 3'", exit: 3 },
  { cmd: 'exec -i {PROBE1} cat', stdin: 'piped in', out: /^piped in$/ },
  { cmd: "exec -e FOO=bar -w /tmp {PROBE1} sh -c 'echo $FOO $(pwd)'", out: /^bar \/tmp\n$/ },
  // Through the service's VIP (busybox wget's own -T crashes it, hence `timeout`).
  { cmd: 'exec {PROBE1} timeout 10 wget -q -O- http://tbl_web/', until: true, out: /^cfg=1\n$/, peer: NO_IPVS },
  { on: 'h2', cmd: 'exec {PROBE2} timeout 10 wget -q -O- http://tbl_web/', until: true, out: /^cfg=1\n$/, peer: NO_IPVS },
  { on: 'h2', cmd: 'exec {PROBE2} timeout 10 wget -q -O- http://tasks.tbl_web/', until: true, out: /^cfg=1\n$/ },
  { cmd: 'exec nosuchcontainer true', exit: 1, err: /nosuchcontainer/ },
  { cmd: 'logs --tail 2 {TALK1}', until: true, out: /^line \d+\nline \d+\n$/ },
  { cmd: 'logs -f {TALK1}', follow: true, out: /line 0\n[^]*line 3\n/ },

  // Service logs, from both nodes.
  { cmd: 'service logs tbl_talk', until: true, out: /^(?=[^]*tbl_talk\.\w+\.\w+@h1 +\| line 0\n)(?=[^]*tbl_talk\.\w+\.\w+@h2 +\| line 0\n)/ },
  { cmd: 'service logs --tail 1 --no-task-ids tbl_talk', out: /^tbl_talk\.\w+@h[12] +\| line \d+\ntbl_talk\.\w+@h[12] +\| line \d+\n$/ },
  { cmd: 'service logs -t --tail 1 tbl_talk', out: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tbl_talk\.\w+\.\w+@h[12] +\| line \d+\n/ },
  { cmd: 'service logs --raw --tail 1 tbl_talk', out: /^line \d+\nline \d+\n$/ },
  { cmd: 'service logs --since 3s tbl_talk', out: /line \d+\n/ },
  { cmd: 'service logs -f --tail 1 tbl_talk', follow: true, out: /^(?=[^]*@h1 +\| line \d+\n)(?=[^]*@h2 +\| line \d+\n)/ },
  { cmd: 'service logs --tail 1 {TALKTASK}', out: /^tbl_talk\.\w+\.\w+@h[12] +\| line \d+\n$/ },
  { cmd: 'service logs nosuchsvc', exit: 1, err: /nosuchsvc/ },

  // Scale, update, rollback.
  { cmd: 'service scale -d tbl_web=3', out: /tbl_web scaled to 3/ },
  { cmd: "service ls --filter name=tbl_web --format '{{.Replicas}}'", until: true, out: /^3\/3\n$/ },
  { cmd: 'service scale tbl_probe=3', exit: 1, err: /scale can only be used with replicated/ },
  { cmd: 'service update -d --image {IMG2} --update-parallelism 2 --update-delay 0s tbl_web', mark: 'UPD', out: /^tbl_web\n$/ },
  { cmd: "service inspect --format '{{.UpdateStatus.State}}' tbl_web", until: true, out: /^completed\n$/ },
  { cmd: "events --since {UPD} --until 0s --filter service=tbl_web --filter event=update --format '{{.Actor.Attributes.name}} {{index .Actor.Attributes \"image.new\"}}'", out: /^tbl_web 192\.168\.100\.1:5000\/shoal\/bb:v2/m },
  { cmd: "service ps --filter desired-state=running --format '{{.Image}}' tbl_web", until: true, out: /^(192\.168\.100\.1:5000\/shoal\/bb:v2\n){3}$/ },
  { cmd: "service inspect --format '{{.Spec.UpdateConfig.Parallelism}} {{.Spec.TaskTemplate.ContainerSpec.Image}} {{.PreviousSpec.TaskTemplate.ContainerSpec.Image}}' tbl_web", out: `^2 ${pinned('v2')} ${pinned('v1')}\\n$` },
  { cmd: "service ps --filter desired-state=shutdown --format '{{.Name}} {{.Image}}' tbl_web", out: /^(?=[^]*tbl_web\.1 192\.168\.100\.1:5000\/shoal\/bb:v1\n)/ },
  { cmd: 'service rollback -d tbl_web', out: /^tbl_web\n$/ },
  { cmd: "service inspect --format '{{.UpdateStatus.State}}' tbl_web", until: true, out: /^rollback_completed\n$/ },
  { cmd: "service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' tbl_web", out: `^${pinned('v1')}\\n$` },
  { cmd: 'service update -d --env-add MODE=x --label-add tier=web tbl_web', out: /^tbl_web\n$/ },
  { cmd: "service inspect --format '{{index .Spec.Labels \"tier\"}} {{.Spec.TaskTemplate.ContainerSpec.Env}}' tbl_web", out: /^web \[MODE=x\]\n$/ },
  { cmd: "service inspect --format '{{.UpdateStatus.State}}' tbl_web", until: true, out: /^completed\n$/ },
  { cmd: 'service update -d --rollback tbl_web', out: /^tbl_web\n$/ },
  { cmd: "service inspect --format '{{len .Spec.TaskTemplate.ContainerSpec.Env}}' tbl_web", out: /^0\n$/ },
  { cmd: "service inspect --format '{{.UpdateStatus.State}}' tbl_web", until: true, out: /^rollback_completed\n$/ },
  { cmd: 'service update -d --replicas 1 --publish-add 8082:80 tbl_web', out: /^tbl_web\n$/ },
  { cmd: "service ls --filter name=tbl_web --format '{{.Replicas}} {{.Ports}}'", until: true, out: /^1\/1 \*:8080->80\/tcp, \*:8082->80\/tcp\n$/ },
  { cmd: 'service update --image {IMG2} nosuchsvc', exit: 1, err: /nosuchsvc/ },
  // Placement: constraints, a forced redeploy, moving with a changed constraint.
  { cmd: 'service create -d --name tbl_pin --constraint node.role==worker --replicas 2 --stop-grace-period 1s {IMG} sleep 3600', out: /^\w{25}\n$/ },
  { cmd: "service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' tbl_pin", until: true, out: /^h2 Running .*\nh2 Running .*\n$/ },
  { cmd: 'service update -d --force tbl_pin', out: /^tbl_pin\n$/ },
  { cmd: 'service ps -q --filter desired-state=shutdown tbl_pin', until: true, out: /^\w+\n\w+\n$/ },
  { cmd: 'service update -d --constraint-rm node.role==worker --constraint-add node.hostname==h1 tbl_pin', out: /^tbl_pin\n$/ },
  { cmd: "service inspect --format '{{.Spec.TaskTemplate.Placement.Constraints}}' tbl_pin", out: /^\[node\.hostname==h1\]\n$/ },
  { cmd: "service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' tbl_pin", until: true, out: /^h1 Running .*\nh1 Running .*\n$/ },
  { cmd: 'service rm tbl_pin', out: /^tbl_pin\n$/ },
  { cmd: 'service rm tbl_talk', out: /^tbl_talk\n$/ },
  { cmd: "service ls --format '{{.Name}}'", out: /^tbl_probe\ntbl_web\n$/ },
  { cmd: 'node ps h2', out: /^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR +PORTS\n(?=[^]*tbl_probe\.\w+ +192\.168\.100\.1:5000\/shoal\/bb:v1 +h2 +Running +Running )/ },
  { cmd: "node ps --filter desired-state=running --format '{{.Name}} {{.Node}}' self", out: /^(?=[^]*tbl_probe\.\w+ h1\n)/ },
  { cmd: 'service rm nosuchsvc', exit: 1, err: /nosuchsvc/ },
];
