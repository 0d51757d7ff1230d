// Security levels, lowest first. Commands, kernels, tasks and tokens each carry one; a node's default comes from
// config (security.level) or NOODLE_NET_SECURITY_LEVEL.

export const SECURITY_LEVELS = ['PUBLIC', 'INTERNAL', 'CONFIDENTIAL', 'SECRET', 'CRITICAL'] as const
export type SecurityLevel = (typeof SECURITY_LEVELS)[number]

export function levelRank(level: SecurityLevel): number {
  return SECURITY_LEVELS.indexOf(level)
}
