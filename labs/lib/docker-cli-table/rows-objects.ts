/**
 * The docker CLI table, part 2: images on both nodes, secrets, configs, overlay networks
 * and local volumes (create, ls with filters and formats, inspect, the errors users meet).
 */
import type { Row } from './runner.ts';

export const OBJECT_ROWS: Row[] = [
  { cmd: 'image pull {IMG}', out: /^192\.168\.100\.1:5000\/shoal\/bb:v1\n$/m },
  { cmd: 'image pull -q {IMG2}', out: /^192\.168\.100\.1:5000\/shoal\/bb:v2\n$/ },
  { on: 'h2', cmd: 'pull {IMG}', out: /Status: (Downloaded newer image|Image is up to date) for 192\.168\.100\.1:5000\/shoal\/bb:v1/ },
  { on: 'h2', cmd: 'image pull -q {IMG2}', out: /bb:v2\n$/ },
  { cmd: 'image pull 192.168.100.1:5000/shoal/nope:v9', exit: 1, err: /not found|manifest unknown/ },
  { cmd: "image ls --format '{{.Repository}}:{{.Tag}}'", out: /^(?=[^]*192\.168\.100\.1:5000\/shoal\/bb:v1\n)(?=[^]*192\.168\.100\.1:5000\/shoal\/bb:v2\n)/ },
  { cmd: 'image ls 192.168.100.1:5000/shoal/bb', out: /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n(?=[^]*bb +v1 +[0-9a-f]{12})(?=[^]*bb +v2 +[0-9a-f]{12})/ },
  { cmd: 'images -q 192.168.100.1:5000/shoal/bb:v2', out: /^[0-9a-f]{12}\n$/ },
  { cmd: "image inspect --format '{{.Os}} {{index .RepoTags 0}}' {IMG}", out: /^linux 192\.168\.100\.1:5000\/shoal\/bb:v1\n$/ },

  { cmd: 'secret create --label app=tbl tbl_pw pw.txt', out: /^\w{25}\n$/, save: ['SECRET', /^(\w+)/] },
  { cmd: 'secret create tbl_key -', stdin: 'k3y', out: /^\w{25}\n$/ },
  { cmd: 'secret create tbl_pw pw.txt', exit: 1, err: /already exists/ },
  { cmd: 'secret ls', out: /^ID +NAME +DRIVER +CREATED +UPDATED\n(?=[^]*\w+ +tbl_pw +)(?=[^]*\w+ +tbl_key +)/ },
  { cmd: "secret ls --filter name=tbl_pw --format '{{.Name}}'", out: /^tbl_pw\n$/ },
  { cmd: 'secret ls -q --filter label=app=tbl', out: '^{SECRET}\\n$' },
  { cmd: "secret inspect --format '{{.Spec.Name}} {{index .Spec.Labels \"app\"}} {{.Spec.Data}}' tbl_pw", out: /^tbl_pw tbl \[\]\n$/ },
  { cmd: 'secret inspect --pretty tbl_pw', out: /Name:\s+tbl_pw\nLabels:\n - app=tbl/ },
  { cmd: 'secret inspect nosuch', exit: 1, err: /nosuch/ },

  { cmd: 'config create --label app=tbl tbl_conf app.conf', out: /^\w{25}\n$/ },
  { cmd: 'config create tbl_conf2 -', stdin: 'two', out: /^\w{25}\n$/ },
  { cmd: 'config create tbl_conf app.conf', exit: 1, err: /already exists/ },
  { cmd: 'config ls', out: /^ID +NAME +CREATED +UPDATED\n(?=[^]*tbl_conf +)(?=[^]*tbl_conf2 +)/ },
  { cmd: "config ls --filter label=app=tbl --format '{{.Name}}'", out: /^tbl_conf\n$/ },
  { cmd: "config inspect --format '{{printf \"%s\" .Spec.Data}}' tbl_conf", out: /^cfg=1\n\n$/ },
  { cmd: 'config inspect --pretty tbl_conf2', out: /Name:\s+tbl_conf2\n[^]*Data:\ntwo/ },
  { cmd: 'config rm tbl_conf2', out: /^tbl_conf2\n$/ },
  { cmd: 'config inspect tbl_conf2', exit: 1, err: /tbl_conf2/ },
  // Retried: in some runs Shoal's `events` showed none of these for many seconds after the
  // swarm rows above (seen 3 times, then not reproduced in 6 runs; Docker has them at once).
  { until: true, cmd: "events --since {START} --until 0s --filter type=secret --filter type=config --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'", out: /^(?=[^]*^secret create tbl_pw$)(?=[^]*^secret create tbl_key$)(?=[^]*^config create tbl_conf$)(?=[^]*^config remove tbl_conf2$)/m },

  { cmd: 'network create -d overlay --attachable --label app=tbl tbl_front', out: /^\w{25}\n$/ },
  { cmd: 'network create --driver overlay --subnet 10.91.0.0/24 tbl_back', out: /^\w{25}\n$/ },
  { cmd: 'network create -d overlay tbl_front', exit: 1, err: /already exists/ },
  { cmd: 'network ls', out: /^NETWORK ID +NAME +DRIVER +SCOPE\n(?=[^]*\w{12} +tbl_front +overlay +swarm\n)(?=[^]*\w{12} +ingress +overlay +swarm\n)/ },
  { cmd: "network ls --filter driver=overlay --format '{{.Name}}'", out: /^(?=[^]*^ingress$)(?=[^]*^tbl_front$)(?=[^]*^tbl_back$)/m },
  { cmd: "network ls --filter label=app=tbl --format '{{.Name}} {{.Driver}}'", out: /^tbl_front overlay\n$/ },
  { cmd: "network inspect --format '{{.Driver}} {{.Scope}} {{.Attachable}}' tbl_front", out: /^overlay swarm true\n$/ },
  { cmd: "network inspect --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' tbl_back", out: /^10\.91\.0\.0\/24\n$/ },
  { cmd: "network inspect --format '{{.Ingress}}' ingress", out: /^true\n$/ },
  { cmd: 'network inspect nosuchnet', exit: 1, err: /nosuchnet/ },

  { cmd: 'volume create --label app=tbl tbl_vol', out: /^tbl_vol\n$/ },
  { cmd: 'volume ls', out: /^DRIVER +VOLUME NAME\n(?=[^]*local +tbl_vol\n)/ },
  { cmd: 'volume ls -q --filter label=app=tbl', out: /^tbl_vol\n$/ },
  { cmd: "volume inspect --format '{{.Driver}} {{.Scope}}' tbl_vol", out: /^local local\n$/ },
  { cmd: 'volume rm tbl_vol', out: /^tbl_vol\n$/ },
  { cmd: 'volume ls -q --filter name=tbl_vol', out: /^$/ },
];
