// Isolation (issue 5): an ADW whose working dir is a git repository works
// in its own worktree on its own branch; two ADWs on one repository never
// touch each other's files; each step's changes are committed and tracked
// (FileTrackingBlock); the ADW shows its branch and diff stat.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, api, waitForAdw } from './lib/server.mjs';

const git = (cwd, ...args) => {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

let srv, repo;
before(async () => {
  repo = mkdtempSync(join(tmpdir(), 'adw-repo-'));
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), 'hello\n');
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A');
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'init');
  srv = await startServer({ prefix: 'worktree' });
});
after(async () => { await srv.stop(); srv.cleanup(); rmSync(repo, { recursive: true, force: true }); });

const events = async (id) => (await api(srv.url, 'GET', `/api/adws/${id}/events?limit=5000`)).body.events;

describe('git worktrees', () => {
  test('two ADWs on one repository work on their own branches; the checkout stays clean', async () => {
    const [a, b] = await Promise.all(['First change [dry-run:delay=500]', 'Second change [dry-run:delay=500]'].map(async (prompt) => {
      const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build_review', prompt, working_dir: repo });
      assert.equal(r.status, 201, r.text);
      return r.body.adw;
    }));
    const [da, db] = [await waitForAdw(srv.url, a.id, 30000), await waitForAdw(srv.url, b.id, 30000)];
    for (const d of [da, db]) {
      assert.equal(d.status, 'completed', JSON.stringify(d));
      assert.equal(d.working_dir, repo, 'the ADW still names the repository');
      assert.equal(d.git.branch, `adw/${d.name}-${d.id.slice(0, 8)}`);
      assert.equal(d.git.repo, repo);
      assert.equal(d.git.base_commit, git(repo, 'rev-parse', 'main'));
      assert.ok(d.git.worktree.startsWith(join(srv.home, 'worktrees')), d.git.worktree);
      assert.equal(d.git.worktree_removed, true, 'a completed ADW\'s worktree is removed; its branch stays');
      assert.ok(!existsSync(d.git.worktree));
      assert.ok(d.artifacts.plan.startsWith(d.git.worktree), 'artifacts are written in the worktree');
      assert.equal(d.git.diff.files, 2, 'the plan and the review report');
      assert.ok(d.git.diff.insertions > 10 && d.git.diff.deletions === 0, JSON.stringify(d.git.diff));
      // The branch holds one commit per step that changed something.
      const log = git(repo, 'log', '--format=%s', `main..${d.git.branch}`).split('\n');
      assert.deepEqual(log, [`adw ${d.name}: review step`, `adw ${d.name}: plan step`]);
      const files = git(repo, 'diff', '--name-only', `main..${d.git.branch}`).split('\n').sort();
      assert.deepEqual(files, [`app_review/review-${d.name}-${d.id.slice(0, 8)}.md`, `specs/${d.name}-${d.id.slice(0, 8)}.md`]);
    }
    assert.notEqual(da.git.branch, db.git.branch);
    assert.equal(git(repo, 'status', '--porcelain'), '', 'nothing was written in the shared checkout');
    assert.equal(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD'), 'main');
    const ev = await events(a.id);
    const tracked = ev.filter((e) => e.type === 'FileTrackingBlock');
    assert.deepEqual(tracked.map((e) => e.step), ['plan', 'build', 'review']);
    assert.equal(tracked[0].category, 'file_tracking');
    assert.equal(tracked[0].payload.files.length, 1);
    assert.equal(tracked[0].payload.files[0].path, `specs/${da.name}-${da.id.slice(0, 8)}.md`);
    assert.ok(tracked[0].payload.files[0].added > 10);
    assert.equal(tracked[0].payload.files[0].removed, 0);
    assert.equal(tracked[1].payload.files.length, 0, 'the dry-run build changes nothing');
    assert.match(tracked[1].content, /^build step: 0 files changed, \+0 -0$/);
  });

  test('a failed ADW keeps its worktree to look at (ADW_WORKTREE_KEEP=on_failure)', async () => {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Broken [dry-run:fail=build]', working_dir: repo });
    const d = await waitForAdw(srv.url, r.body.adw.id, 30000);
    assert.equal(d.status, 'failed');
    assert.equal(d.git.worktree_removed, false);
    assert.ok(existsSync(d.git.worktree));
    assert.match(readFileSync(join(d.git.worktree, 'specs', `${d.name}-${d.id.slice(0, 8)}.md`), 'utf8'), /^# Plan: Broken/);
    assert.equal(git(d.git.worktree, 'rev-parse', '--abbrev-ref', 'HEAD'), d.git.branch);
  });

  test('a working dir that is not a repository works as before', async () => {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Plain dir' });
    const d = await waitForAdw(srv.url, r.body.adw.id, 30000);
    assert.equal(d.status, 'completed');
    assert.equal(d.git, null);
    assert.ok(d.artifacts.plan.startsWith(srv.workdir));
    assert.ok(!(await events(d.id)).some((e) => e.type === 'FileTrackingBlock'));
  });
});

describe('the dashboard', () => {
  test('a card shows the ADW\'s branch and diff stat', async () => {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Shown on the card', working_dir: repo });
    const d = await waitForAdw(srv.url, r.body.adw.id, 30000);
    const browser = await chromium.launch({
      executablePath: process.env.ADW_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(15000);
      await page.goto(srv.url + '/');
      const card = page.locator(`[data-testid="adw-card"][data-adw-id="${d.id}"]`);
      await card.locator('[data-testid="adw-git"]').waitFor({ state: 'visible' });
      assert.equal(await card.locator('[data-testid="adw-branch"]').textContent(), d.git.branch);
      assert.equal(await card.locator('[data-testid="adw-diffstat"]').textContent(), `1 file +${d.git.diff.insertions} −0`);
      const plain = (await api(srv.url, 'GET', '/api/adws?limit=50')).body.adws.find((a) => !a.git && a.status === 'completed');
      if (plain) assert.ok(await page.locator(`[data-testid="adw-card"][data-adw-id="${plain.id}"] [data-testid="adw-git"]`).isHidden());
    } finally { await browser.close(); }
  });
});
