/**
 * Unit tests of the dashboard tab: the proxy's URL in a frame sandboxed
 * without same-origin, and no referrer.
 *
 * @jest-environment jsdom
 */

import { DashboardPanel } from '../widgets/DashboardPanel';

describe('DashboardPanel', () => {
  it('opens the proxy in a sandboxed frame without same-origin', () => {
    const panel = new DashboardPanel({
      baseUrl: 'http://localhost:8888/lab-base/'
    });
    expect(panel.node.classList).toContain('iog-DashboardPanel');
    const frames = panel.node.querySelectorAll('iframe');
    expect(frames).toHaveLength(1);
    const frame = frames[0];
    expect(frame.getAttribute('src')).toBe(
      'http://localhost:8888/lab-base/iog/dashboard/'
    );
    const flags = (frame.getAttribute('sandbox') ?? '').split(/\s+/).sort();
    expect(flags).toEqual(['allow-downloads', 'allow-popups', 'allow-scripts']);
    expect(flags).not.toContain('allow-same-origin');
    expect(flags).not.toContain('allow-top-navigation');
    expect(frame.getAttribute('referrerpolicy')).toBe('no-referrer');
    panel.dispose();
  });

  it('reloads the same proxy URL (a new view grant)', () => {
    const panel = new DashboardPanel({ baseUrl: 'http://h/' });
    panel.frame.src = 'about:blank';
    panel.reload();
    expect(panel.frame.getAttribute('src')).toBe('http://h/iog/dashboard/');
    expect(panel.frame.getAttribute('sandbox')).toBe(DashboardPanel.SANDBOX);
    panel.dispose();
  });
});
