import { clientCommand, shownPath } from './banner';

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
