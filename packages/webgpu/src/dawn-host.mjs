// The Dawn child process's entry (started by DawnProcess in dawn-process.ts): the workspace runs TypeScript through
// tsx (docs/decisions/0002), so register its loader, as node/bin/noodlenet does, and start the host.
import { register } from 'tsx/esm/api'

register()
await import('./dawn-host.ts')
