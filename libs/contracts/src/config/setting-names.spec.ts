import { misspelledSettingLine, misspelledSettings, settingNames } from './setting-names';

describe('misspelled settings', () => {
  it('knows every schema setting and the tools\' own', () => {
    const names = settingNames();
    for (const name of ['HOST', 'DATA_DIR', 'CACHE_CAPACITY', 'ORDER_ACK_MODE', 'FRONTEND_URLS', 'FRONTENDS', 'RESTART_DELAY_MS', 'BAZAAR_URL', 'NPM_PID']) {
      expect({ name, known: names.has(name) }).toEqual({ name, known: true });
    }
  });

  it('finds a setting written wrong, with the one meant', () => {
    expect(
      misspelledSettings({ FRONTEND_PROT: '31001', CATALOG_PORTS: '1', SQLITE_SYNCRONOUS: 'OFF', DATADIR: '/x', LOG_LEVL: 'debug', FRONTEND_PORT: '30001' }),
    ).toEqual([
      { name: 'CATALOG_PORTS', meant: 'CATALOG_PORT' },
      { name: 'DATADIR', meant: 'DATA_DIR' },
      { name: 'FRONTEND_PROT', meant: 'FRONTEND_PORT' },
      { name: 'LOG_LEVL', meant: 'LOG_LEVEL' },
      { name: 'SQLITE_SYNCRONOUS', meant: 'SQLITE_SYNCHRONOUS' },
    ]);
    expect(misspelledSettingLine({ name: 'FRONTEND_PROT', meant: 'FRONTEND_PORT' })).toBe(
      'FRONTEND_PROT is not a setting of the bazaar, and is ignored: did you mean FRONTEND_PORT?',
    );
  });

  it('leaves alone the settings themselves, and the usual variables of a shell, npm, CI and containers', () => {
    const usual = [
      'HOME', 'PATH', 'PWD', 'OLDPWD', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'LC_ALL', 'HOSTNAME', 'SHLVL', 'TMPDIR', 'EDITOR', 'PAGER', 'TZ', 'CI',
      'NODE_ENV', 'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'INIT_CWD', 'COLOR', 'EDITOR', 'MAIL', 'DISPLAY', 'COLUMNS', 'LINES', 'PORT', 'DEBUG',
      'KUBERNETES_SERVICE_HOST', 'KUBERNETES_PORT', 'GITHUB_ACTIONS', 'RUNNER_TEMP', 'SSL_CERT_DIR', 'SSL_CERT_FILE', 'HTTP_PROXY', 'NO_PROXY', 'XDG_DATA_DIRS',
      'DEBIAN_FRONTEND', 'PIP_CERT', 'RUST_BACKTRACE', 'CONTAINER_NAME',
    ];
    const env = Object.fromEntries([...usual, ...settingNames()].map((n) => [n, 'x']));
    expect(misspelledSettings({ ...env, npm_config_cache: '/x', Host: 'x' })).toEqual([]);
  });
});
