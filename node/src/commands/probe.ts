import { parseCommandArgs } from '../cli-args.js'
import { probeHardware } from '../probe.js'

export const PROBE_HELP = `Usage: noodlenet probe

Prints this machine's hardware as JSON: CPU cores and model, memory total/free (MB),
load (one-minute load average per core), GPUs (nvidia-smi, else /sys/class/drm) and
NPUs (/sys/class/accel). A running peer gossips the same profile to the mesh.

Options:
  -h, --help   show this help`

export async function probeCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {}, 'probe')
  if (values.help === true) {
    process.stdout.write(`${PROBE_HELP}\n`)
    return 0
  }
  process.stdout.write(`${JSON.stringify(await probeHardware(), null, 2)}\n`)
  return 0
}
