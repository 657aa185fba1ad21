import qrcode from 'qrcode-generator';

/** The quiet zone the QR specification asks for around the code, in modules. */
const QUIET_ZONE = 4;

/**
 * A QR code for `text` as one SVG path: `d` draws every dark module as a 1×1 square, on a grid of `size` modules
 * (quiet zone included). qrcode-generator computes the modules; the page draws them with createElementNS, because
 * the library's own output is an HTML string (a Trusted Types sink) or a data: URL (not in the CSP's img-src).
 * Error correction M: a screen across a room is photographed at an angle, not scratched.
 */
export function qrPath(text: string): { size: number; d: string } {
  const code = qrcode(0, 'M');
  code.addData(text, 'Byte');
  code.make();
  const count = code.getModuleCount();
  const squares: string[] = [];
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (code.isDark(row, col)) squares.push(`M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`);
    }
  }
  return { size: count + 2 * QUIET_ZONE, d: squares.join('') };
}

const SVG = 'http://www.w3.org/2000/svg';

/** The QR code of `text` as an `<svg>` element that scales to its box, with `label` as its accessible name. */
export function qrSvg(text: string, label: string): SVGSVGElement {
  const { size, d } = qrPath(text);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  const background = document.createElementNS(SVG, 'rect');
  background.setAttribute('width', String(size));
  background.setAttribute('height', String(size));
  background.setAttribute('class', 'qr-light');
  const modules = document.createElementNS(SVG, 'path');
  modules.setAttribute('d', d);
  modules.setAttribute('class', 'qr-dark');
  svg.append(background, modules);
  return svg;
}
