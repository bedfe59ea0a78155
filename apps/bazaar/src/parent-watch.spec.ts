import { npmPid, watchParent } from './parent-watch';

describe('watchParent', () => {
  it('calls back once, when the parent changes (npm died and init adopted the supervisor)', async () => {
    let parent = 4242;
    let gone = 0;
    watchParent(4242, () => gone++, 5, () => parent);
    await new Promise((r) => setTimeout(r, 30));
    expect(gone).toBe(0);
    parent = 1;
    await new Promise((r) => setTimeout(r, 30));
    parent = 7; // and again: still once
    await new Promise((r) => setTimeout(r, 30));
    expect(gone).toBe(1);
  });

  it('stops watching when asked', async () => {
    let gone = 0;
    let parent = 4242;
    const stop = watchParent(4242, () => gone++, 5, () => parent);
    stop();
    parent = 1;
    await new Promise((r) => setTimeout(r, 30));
    expect(gone).toBe(0);
  });

  it('calls back at once when the parent is gone already (npm died before the supervisor looked)', async () => {
    let gone = 0;
    watchParent(4242, () => gone++, 60_000, () => 1);
    await Promise.resolve();
    expect(gone).toBe(1);
  });

  it("knows npm's pid from the start script's NPM_PID, under `npm start` only", () => {
    expect(npmPid({ NPM_PID: '4242', npm_lifecycle_event: 'start' })).toBe(4242);
    expect(npmPid({ NPM_PID: '4242' })).toBeUndefined(); // left over in a shell that ran node itself
    expect(npmPid({ NPM_PID: '', npm_lifecycle_event: 'start' })).toBeUndefined();
    expect(npmPid({ NPM_PID: '1', npm_lifecycle_event: 'start' })).toBeUndefined();
    expect(npmPid({ NPM_PID: 'x', npm_lifecycle_event: 'start' })).toBeUndefined();
    expect(npmPid({})).toBeUndefined();
  });
});
