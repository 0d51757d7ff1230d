// Runs `noodlenet-signaling` as a real child process: waits for its ready line, stops it with SIGTERM or kills it
// with SIGKILL. Ports come from the OS (--port 0) unless a test restarts a server on the port it had.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { CliProcess } from '../../../node/test/support/cli-process.js'

export const SIGNALING_CLI = fileURLToPath(new URL('../../bin/noodlenet-signaling', import.meta.url))

export class SignalingProcess extends CliProcess<{ event: 'ready'; url: string }> {
  /** `prefix` runs it under another command, e.g. `ip netns exec NS`. */
  constructor(args: string[] = ['--port', '0'], prefix: string[] = []) {
    super('signalling server', [SIGNALING_CLI, ...args], { prefix })
  }

  async url(): Promise<string> {
    return (await this.ready).url
  }
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runSignalingCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SIGNALING_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stdout, stderr }
}
