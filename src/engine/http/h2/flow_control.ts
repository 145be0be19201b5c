// HTTP/2 flow control (RFC 9113 section 5.2 and 6.9): the arithmetic both sessions share.
// Send side: a window the peer grants (its SETTINGS_INITIAL_WINDOW_SIZE, then WINDOW_UPDATEs),
// which may go negative after a SETTINGS change and never above 2^31-1. Receive side: what we
// granted; the bytes the application consumed are given back in one WINDOW_UPDATE once half
// the window is used (one update per half window, not one per DATA frame).
import { MAX_WINDOW } from './frames';

/** The window after a WINDOW_UPDATE or SETTINGS delta (it may be negative), or null when it would pass 2^31-1 (FLOW_CONTROL_ERROR). */
export function growWindow(window: number, increment: number): number | null {
  const next = window + increment;
  return next > MAX_WINDOW ? null : next;
}

/** True once consumed bytes are worth a WINDOW_UPDATE: half of the window we keep open. */
export function updateDue(consumed: number, target: number): boolean {
  return consumed > 0 && consumed * 2 >= target;
}

/** What one DATA frame may carry now: bounded by both windows, the frame size and what is left. */
export function sendable(left: number, streamWindow: number, connectionWindow: number, maxFrame: number): number {
  return Math.max(0, Math.min(left, streamWindow, connectionWindow, maxFrame));
}
