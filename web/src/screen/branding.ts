import { textOnAccent, type Branding } from '@livewall/contract';
import { qrSvg } from './qr.js';

export interface BrandingElements {
  root: HTMLElement;
  /** The header's drawn logo, replaced by the wall's own. */
  logo: HTMLElement | null;
  callToAction: HTMLElement;
  callToActionText: HTMLElement;
  callToActionCode: HTMLElement;
}

/**
 * Puts a wall's branding (checked by parseConfig: checkBranding) on the page: its logo in the header, its accent
 * colour as `--brand` (style.css uses it for the spotlight's badge and the call to action, with `--on-brand`, black or
 * white, for text on it), and its call to action with the QR code of its URL, shown in screen mode. The title is
 * main.ts's, which names the feed in it. Everything goes in through the DOM and CSSOM: no HTML strings, no inline
 * style attribute (the CSP allows neither).
 */
export function applyBranding(branding: Branding, elements: BrandingElements): void {
  if (branding.logo !== undefined && elements.logo) {
    const img = document.createElement('img');
    img.className = 'logo logo-img';
    img.src = branding.logo;
    // Beside the title, which names the wall: the logo adds no words.
    img.alt = '';
    img.decoding = 'async';
    img.referrerPolicy = 'no-referrer';
    img.addEventListener('error', () => img.replaceWith(elements.logo!), { once: true });
    elements.logo.replaceWith(img);
  }
  if (branding.accent !== undefined) {
    elements.root.style.setProperty('--brand', branding.accent);
    elements.root.style.setProperty('--on-brand', textOnAccent(branding.accent));
  }
  if (branding.callToAction !== undefined) {
    elements.callToActionText.textContent = branding.callToAction;
    if (branding.callToActionUrl !== undefined) {
      elements.callToActionCode.replaceChildren(qrSvg(branding.callToActionUrl, `QR code: ${branding.callToActionUrl}`));
      elements.callToActionCode.hidden = false;
    }
    elements.callToAction.hidden = false;
  }
}
