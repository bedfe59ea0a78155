import { clientCommand, restartLine, shownPath } from './banner';
import { DEFAULT_RESTART } from './restart-policy';

describe('shownPath (npm start\'s banner and token line)', () => {
  it('is relative inside the working directory', () => {
    expect(shownPath('/srv/bazaar/data', '/srv/bazaar')).toBe('data');
    expect(shownPath('/srv/bazaar/data/cluster-token', '/srv/bazaar')).toBe('data/cluster-token');
    expect(shownPath('/srv/bazaar', '/srv/bazaar')).toBe('.');
  });

  it('is the path as given outside it, rather than climbing out with ../', () => {
    expect(shownPath('/tmp/bazaar', '/srv/bazaar')).toBe('/tmp/bazaar');
    expect(shownPath('/srv', '/srv/bazaar')).toBe('/srv');
  });

  it('keeps a directory whose name starts with two dots inside the working directory relative', () => {
    expect(shownPath('/srv/bazaar/..data', '/srv/bazaar')).toBe('..data');
  });
});

describe('clientCommand (the banner\'s client commands)', () => {
  it('points the client at the front end unless it is the client\'s default', () => {
    expect(clientCommand('status --watch', 'http://127.0.0.1:30001')).toBe('npm run client -- status --watch');
    expect(clientCommand('status --watch', 'http://127.0.0.1:42021')).toBe('npm run client -- status --watch --url http://127.0.0.1:42021');
  });
});

describe('restartLine (the banner\'s line on restarts)', () => {
  it('says what waits RESTART_DELAY_MS and what nothing stands in for, so is restarted at once', () => {
    expect(restartLine(DEFAULT_RESTART, 1, 3)).toBe('  a replica that dies is restarted after 3 s, the catalog and the front end at once (--no-restart leaves it down)');
    expect(restartLine(DEFAULT_RESTART, 2, 3)).toBe('  a replica or a front end that dies is restarted after 3 s, the catalog at once (--no-restart leaves it down)');
    expect(restartLine(DEFAULT_RESTART, 1, 1)).toBe('  a service that dies is restarted at once (--no-restart leaves it down)');
    expect(restartLine({ ...DEFAULT_RESTART, enabled: false }, 2, 3)).toBe('  restarts are off: a service that dies stays down');
  });
});
