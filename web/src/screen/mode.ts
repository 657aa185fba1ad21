/**
 * Whether the page opens in screen mode: the TV, projector or event-screen layout (web/src/screen/screen.ts).
 * `?screen` or `?mode=screen` asks for it; `?mode=normal` (or `?screen=off`) leaves it on a wall whose web server
 * opens every page in it (LIVEWALL_SCREEN, `always`), for a person who wants the ordinary page there.
 */
export function screenModeWanted(search: string, always: boolean): boolean {
  const params = new URLSearchParams(search);
  const mode = params.get('mode');
  if (mode === 'screen') return true;
  if (mode === 'normal') return false;
  const screen = params.get('screen');
  if (screen !== null) return !['0', 'off', 'false', 'no'].includes(screen.toLowerCase());
  return always;
}
