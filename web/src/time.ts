/** "just now", "42s ago", "5m ago", "3h ago", "2d ago", then the date (YYYY-MM-DD, UTC). */
export function formatRelative(when: string | number | Date, now: number): string {
  const time = new Date(when).getTime();
  if (Number.isNaN(time)) return '';
  const seconds = Math.floor((now - time) / 1000);
  // Clock skew between the author's network and this machine can put a post slightly in the future.
  if (seconds < 10) return 'just now';
  if (seconds < 60) return `${seconds}s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ago`;
  const days = Math.floor(hours / 24);
  if (days < 7) return `${days}d ago`;
  return new Date(time).toISOString().slice(0, 10);
}

/** A full, local date and time for a tooltip. */
export function formatAbsolute(when: string, locale?: string): string {
  const date = new Date(when);
  if (Number.isNaN(date.getTime())) return when;
  return date.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}
