// What every benchmark in bench/ is to the runner: a name, a one-line summary, and run() that returns the table it
// prints and the JSON written to bench/results/<name>.json.

export interface BenchOptions {
  /** A short run: fewer iterations, for a smoke test rather than figures to quote. */
  quick: boolean
}

export interface BenchReport {
  /** Plain-text table, printed as is. */
  table: string
  /** Everything measured, written to bench/results/<name>.json. */
  json: Record<string, unknown>
}

export interface Benchmark {
  name: string
  summary: string
  run(options: BenchOptions): Promise<BenchReport>
}
