import { Flags } from '@oclif/core';
import { ApiCommand } from '../base-command.ts';
import { applyTemplate } from '../format.ts';
import type { InfoResponse } from '../../src/api/types/system.ts';

export default class Info extends ApiCommand {
  static override summary = 'Display system-wide information';
  static override flags = {
    format: Flags.string({ char: 'f', summary: 'Format the output: json, or a template such as "{{.Swarm.NodeID}}".' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Info);
    const info = await (await this.client()).get<InfoResponse>('/info');
    if (flags.format === 'json') return this.log(JSON.stringify(info, null, 2));
    if (flags.format) return this.log(applyTemplate(flags.format, info));
    const s = info.Swarm;
    const lines = [
      `Name:               ${info.Name}`,
      `ID:                 ${info.ID}`,
      `Server Version:     ${info.ServerVersion}`,
      `Containers:         ${info.Containers} (running ${info.ContainersRunning}, stopped ${info.ContainersStopped})`,
      `Images:             ${info.Images}`,
      `Default Runtime:    ${info.DefaultRuntime}`,
      `Cgroup Version:     ${info.CgroupVersion}`,
      `Swarm:              ${s.LocalNodeState}`,
    ];
    if (s.LocalNodeState === 'active') {
      lines.push(`  NodeID:           ${s.NodeID}`, `  Is Manager:       ${s.ControlAvailable}`, `  Node Address:     ${s.NodeAddr}`);
      if (s.Nodes !== undefined) lines.push(`  Nodes:            ${s.Nodes}`, `  Managers:         ${s.Managers}`);
    }
    if (s.Error) lines.push(`  Error:            ${s.Error}`);
    lines.push(
      `Kernel Version:     ${info.KernelVersion}`,
      `Operating System:   ${info.OperatingSystem}`,
      `Architecture:       ${info.Architecture}`,
      `CPUs:               ${info.NCPU}`,
      `Total Memory:       ${(info.MemTotal / 2 ** 30).toFixed(2)}GiB`,
      `Data Root:          ${info.DockerRootDir}`,
    );
    if (info.Labels.length) lines.push('Labels:', ...info.Labels.map((l) => `  ${l}`));
    this.log(lines.join('\n'));
  }
}
