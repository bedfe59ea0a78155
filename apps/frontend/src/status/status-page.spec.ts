import { createHash } from 'node:crypto';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page';

describe('status page', () => {
  it('is self-contained: no external URL, no external script or stylesheet', () => {
    expect(STATUS_PAGE_HTML).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    expect(STATUS_PAGE_HTML).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/i);
    expect(STATUS_PAGE_HTML).toContain("fetch('status.json'");
  });

  it('allows exactly its own inline style and script through the Content-Security-Policy', () => {
    const hash = (tag: string) => {
      const body = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(STATUS_PAGE_HTML)![1];
      return `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`;
    };
    expect(STATUS_PAGE_CSP).toContain(`script-src ${hash('script')}`);
    expect(STATUS_PAGE_CSP).toContain(`style-src ${hash('style')}`);
    expect(STATUS_PAGE_CSP).toContain("default-src 'none'");
    expect(STATUS_PAGE_CSP).toContain("connect-src 'self'");
  });

  it('has the stable hooks the browser test reads', () => {
    for (const id of ['leader', 'epoch', 'catalog', 'hit-ratio', 'replicas', 'leader-changes', 'connection']) {
      expect(STATUS_PAGE_HTML).toContain(`data-testid="${id}"`);
    }
    expect(STATUS_PAGE_HTML).toContain("tr.dataset.testid = 'replica-' + r.id");
  });
});
