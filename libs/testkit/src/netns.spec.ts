import { blackholeCommand, dropRuleset, namespaceName, namespaceOwner, planNetwork, setupCommands, subnetBase } from './netns';

describe('netns address plan and commands', () => {
  it('takes one /24 of 198.18.0.0/15 per subnet index', () => {
    expect(subnetBase(0)).toBe('198.18.0');
    expect(subnetBase(255)).toBe('198.18.255');
    expect(subnetBase(256)).toBe('198.19.0');
    expect(subnetBase(511)).toBe('198.19.255');
    expect(() => subnetBase(512)).toThrow(/out of range/);
    expect(() => subnetBase(-1)).toThrow(/out of range/);
  });

  it('numbers hosts in the order given, the root namespace last, names carrying the pid', () => {
    const plan = planNetwork(4321, ['catalog', 'order1', 'frontend'], 300);
    expect(plan.subnet).toBe('198.19.44.0/24');
    expect(plan.rootAddress).toBe('198.19.44.254');
    expect(plan.bridgeNs).toBe('bzmh4321-br');
    expect(plan.hosts.map((h) => [h.name, h.ns, h.address])).toEqual([
      ['catalog', 'bzmh4321-catalog', '198.19.44.1'],
      ['order1', 'bzmh4321-order1', '198.19.44.2'],
      ['frontend', 'bzmh4321-frontend', '198.19.44.3'],
    ]);
    expect(planNetwork(4321, ['a']).subnet).toBe(`${subnetBase(4321 % 512)}.0/24`);
  });

  it('keeps every interface name within 15 characters, even for the largest pids', () => {
    const plan = planNetwork(4194304, ['catalog', 'order1'], 0);
    expect(plan.rootLink.length).toBeLessThanOrEqual(15);
    const names = [plan.rootLink, ...plan.hosts.map((h) => h.bridgePort)];
    expect(plan.rootLink).toBe('bzmh94304r');
    for (const name of names) expect(name.length).toBeLessThanOrEqual(15);
  });

  it('refuses host names that would make bad namespace names, and duplicates', () => {
    expect(() => planNetwork(1, ['Order-1'])).toThrow(/bad host name/);
    expect(() => planNetwork(1, ['br'])).toThrow(/bad host name/);
    expect(() => planNetwork(1, ['a', 'a'])).toThrow(/unique/);
    expect(() => planNetwork(1, [])).toThrow();
  });

  it('recognises only its own namespaces and the pid that made them', () => {
    expect(namespaceOwner(namespaceName(977, 'order3'))).toBe(977);
    expect(namespaceOwner('bzmh977-br')).toBe(977);
    expect(namespaceOwner('bz977-order3')).toBeUndefined();
    expect(namespaceOwner('bzmh-order3')).toBeUndefined();
    expect(namespaceOwner('other')).toBeUndefined();
  });

  it('builds the network: bridge first, each host with lo up and a veth into the bridge, the root link last', () => {
    const plan = planNetwork(50, ['catalog', 'client'], 7);
    const cmds = setupCommands(plan).map((c) => c.join(' '));
    expect(cmds[0]).toBe('netns add bzmh50-br');
    expect(cmds).toContain('-n bzmh50-catalog link set lo up');
    expect(cmds).toContain('-n bzmh50-client link add eth0 type veth peer name p2 netns bzmh50-br');
    expect(cmds).toContain('-n bzmh50-br link set p2 master br0 up');
    expect(cmds).toContain('-n bzmh50-client addr add 198.18.7.2/24 dev eth0');
    expect(cmds.indexOf('netns add bzmh50-catalog')).toBeLessThan(cmds.indexOf('-n bzmh50-catalog link set eth0 up'));
    expect(cmds.slice(-2)).toEqual(['addr add 198.18.7.254/24 dev bzmh50r', 'link set bzmh50r up']);
  });

  it('blackholes one direction per command, inside the sender namespace', () => {
    const [a, b] = planNetwork(50, ['order1', 'order2'], 7).hosts;
    expect(blackholeCommand(a, b, 'add')).toEqual(['-n', 'bzmh50-order1', 'route', 'add', 'blackhole', '198.18.7.2/32']);
    expect(blackholeCommand(b, a, 'del')).toEqual(['-n', 'bzmh50-order2', 'route', 'del', 'blackhole', '198.18.7.1/32']);
  });

  it('drops both directions with one nftables table, replaced as a whole', () => {
    const script = dropRuleset(['198.18.7.3', '198.18.7.1']);
    expect(script).toContain('delete table inet bazaar_partition');
    expect(script).toContain('ip saddr { 198.18.7.1, 198.18.7.3 } drop');
    expect(script).toContain('ip daddr { 198.18.7.1, 198.18.7.3 } drop');
    expect(script.indexOf('delete table')).toBeLessThan(script.indexOf('chain input'));
    // Healed: only the removal remains.
    expect(dropRuleset([])).toBe('table inet bazaar_partition\ndelete table inet bazaar_partition\n');
  });
});
