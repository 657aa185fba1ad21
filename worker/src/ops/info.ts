/** What the worker reports about itself in `/status`, the status message and `livewall_build_info`. */
export interface WorkerInfo {
  /** The worker package's version. */
  version: string;
  /** The machine or container, as operators and the page name it (`os.hostname()` unless configured). */
  host: string;
  /** Where the worker runs, when the deployment names regions. */
  region?: string;
}
