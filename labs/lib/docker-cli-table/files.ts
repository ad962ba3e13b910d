/**
 * The files the docker CLI table's commands read, written to the directory the commands
 * run in: a secret, a config, and a compose file whose front image tag comes from `$TAG`.
 */

/** The lab registry's test image (busybox with httpd), as both lab kinds pull it. */
export const REGISTRY = '192.168.100.1:5000';
export const IMG = `${REGISTRY}/shoal/bb:v1`;
export const IMG2 = `${REGISTRY}/shoal/bb:v2`;

const STACK = `
version: "3.8"
services:
  front:
    image: ${REGISTRY}/shoal/bb:\${TAG:-v1}
    command: ["sh", "-c", "mkdir -p /www && cat /etc/app.conf > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["8081:80"]
    networks: [public, private]
    configs: [{source: appconf, target: /etc/app.conf}]
    stop_grace_period: 1s
    deploy:
      replicas: 2
      update_config: {parallelism: 1, delay: 0s}
  back:
    image: ${IMG}
    command: ["sleep", "3600"]
    networks: [private]
    secrets: [dbpw]
    environment: {ROLE: back}
    stop_grace_period: 1s
networks:
  public: {}
  private: {attachable: true}
secrets:
  dbpw: {file: ./dbpw.txt}
configs:
  appconf: {file: ./app.conf}
`;

/** File name → content. */
export const FILES: Record<string, string> = {
  'pw.txt': 's3cret',
  'app.conf': 'cfg=1\n',
  'dbpw.txt': 'db-pw',
  'stack.yml': STACK,
};
