/**
 * The page's STOMP heart-beats each way, in ms: the default, and the range `/config.json`'s `heartbeatMs` may take.
 * The web server checks its setting against the same range the page checks what it is served, so neither can accept
 * what the other refuses. A silent link is noticed in about twice the interval.
 */
export const PAGE_HEARTBEAT_MS = { default: 10_000, min: 1_000, max: 60_000 } as const;
