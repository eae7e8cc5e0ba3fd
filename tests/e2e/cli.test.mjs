// The adw command line, the embedded PostgreSQL and an installed copy:
// real binaries, real processes, real databases.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, createDatabase, startServer, api, waitForAdw, sourceDir, buildDir } from './lib/server.mjs';

function adw(args, env = {}, opts = {}) {
  return spawnSync(bin.cli, args, { env: { ...process.env, ADW_RUNTIME: 'dry-run', ...env }, encoding: 'utf8', timeout: 60000, ...opts });
}

describe('adw command line', () => {
  const dbUrl = createDatabase('cli');
  const work = mkdtempSync(join(tmpdir(), 'adw-cli-'));
  const env = { DATABASE_URL: dbUrl, ADW_HOME: join(work, '.adw'), ADW_WORKDIR: work };

  test('--help, --version and usage errors', () => {
    let r = adw(['--help']);
    assert.equal(r.status, 0);
    for (const verb of ['start', 'trigger', 'run', 'list', 'show', 'follow', 'workflows', 'migrate', 'worker', 'pause', 'resume', 'cancel', 'say', 'redirect', 'answer', 'thread', 'questions']) assert.match(r.stdout, new RegExp(`\\b${verb}\\b`));
    r = adw(['--version']);
    assert.match(r.stdout, /^adw \d+\.\d+\.\d+/);
    r = adw(['frobnicate'], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^adw: unknown command 'frobnicate'/);
    r = adw(['start', 'plan_build'], env);
    assert.equal(r.status, 2);
    for (const b of [bin.server, bin.run]) {
      assert.equal(spawnSync(b, ['--help']).status, 0);
      assert.match(spawnSync(b, ['--version'], { encoding: 'utf8' }).stdout, /\d+\.\d+\.\d+/);
      assert.equal(spawnSync(b, ['--bogus']).status, 2);
    }
  });

  test('migrate is idempotent', () => {
    let r = adw(['migrate'], env);
    assert.equal(r.status, 0, r.stderr);
    r = adw(['migrate'], env);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^0 migrations applied/);
  });

  test('workflows lists the definitions', () => {
    const r = adw(['workflows'], env);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /plan_build_review_fix\s+plan → build → review → fix \(on FAIL\)/);
  });

  test('run executes in the foreground and follow prints step progress', () => {
    const r = adw(['run', 'plan_build_review', 'Add a --version flag', '--name', 'cli-run'], env);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /started adw cli-run/);
    assert.match(r.stdout, /── step 1 plan started/);
    assert.match(r.stdout, /── step 3 review success, verdict PASS/);
    assert.match(r.stdout, /: completed$/m);
    const show = adw(['show', 'cli-run'], env);
    assert.equal(show.status, 0);
    assert.match(show.stdout, /status\s+completed/);
    assert.match(show.stdout, /verdict\s+PASS/);
    const j = JSON.parse(adw(['--json', 'show', 'cli-run'], env).stdout);
    assert.equal(j.adw.status, 'completed');
    assert.ok(existsSync(j.adw.log_path), 'the foreground run has a log file too');
    const f = adw(['follow', 'cli-run'], env);
    assert.equal(f.status, 0);
    assert.equal((f.stdout.match(/StepStart/g) || []).length, 3, 'every event once');
  });

  test('run of a failing ADW exits 1', () => {
    const r = adw(['run', 'plan_build', 'Fail [dry-run:fail=plan]'], env);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /: failed$/m);
  });

  test('start and trigger leave the ADW pending; a worker runs them', async () => {
    let r = adw(['start', 'plan_build', 'From the CLI', '--name', 'cli-start'], env);
    assert.equal(r.status, 0, r.stderr);
    r = adw(['trigger', 'cli-trigger', 'plan_build_review', 'Triggered', work], env);
    assert.equal(r.status, 0, r.stderr);
    r = adw(['--json', 'list', '--status', 'pending'], env);
    const pending = JSON.parse(r.stdout).adws.map((a) => a.name).sort();
    assert.deepEqual(pending, ['cli-start', 'cli-trigger']);
    r = adw(['trigger', 'bad', 'plan_build', 'x', '/nonexistent'], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^adw: start: working dir '\/nonexistent' does not exist/);
    const worker = spawn(bin.cli, ['worker'], { env: { ...process.env, ADW_RUNTIME: 'dry-run', ...env }, stdio: 'ignore' });
    try {
      const f = adw(['follow', 'cli-trigger'], env);
      assert.equal(f.status, 0, f.stdout + f.stderr);
      assert.match(f.stdout, /verdict PASS/);
      const deadline = Date.now() + 20000;
      let status;
      while (Date.now() < deadline) {
        status = JSON.parse(adw(['--json', 'show', 'cli-start'], env).stdout).adw.status;
        if (status === 'completed') break;
        await new Promise((res) => setTimeout(res, 200));
      }
      assert.equal(status, 'completed');
    } finally { worker.kill('SIGTERM'); }
    r = adw(['list'], env);
    assert.match(r.stdout, /cli-trigger\s+plan_build_review\s+completed\s+3\/3/);
  });
});

describe('embedded PostgreSQL (DATABASE_URL unset)', () => {
  test('created on first start, stopped with the server, reused on the next start', async () => {
    const home = mkdtempSync(join(tmpdir(), 'adw-emb-'));
    chmodSync(home, 0o755); // as root the cluster runs as 'postgres', which must reach it
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const start = async () => startServer({ home, env: { DATABASE_URL: '' }, dbUrl: 'unused' });
    // startServer passes DATABASE_URL through; an empty value means "unset" to adw.
    let s = await start();
    try {
      const adw1 = (await api(s.url, 'POST', '/api/chat', { message: 'start adw: plan_build: Embedded' })).body.adw;
      assert.equal((await waitForAdw(s.url, adw1.id)).status, 'completed');
      assert.ok(existsSync(join(home, 'pg/data/PG_VERSION')));
    } finally { await s.stop(); }
    const ping = spawnSync('pg_isready', ['-h', join(home, 'pg/run')], { encoding: 'utf8' });
    assert.notEqual(ping.status, 0, 'the cluster stops with the server');
    s = await start();
    try {
      const list = (await api(s.url, 'GET', '/api/adws')).body.adws;
      assert.equal(list.length, 1, 'data kept across restarts');
      assert.equal(list[0].prompt, 'Embedded');
    } finally { await s.stop(); s.cleanup(); rmSync(home, { recursive: true, force: true }); }
  });
});

describe('steering from the command line', () => {
  test('pause, say, thread, resume, questions, answer, cancel and redirect', { timeout: 120000 }, async () => {
    const dbUrl = createDatabase('clisteer');
    const srv = await startServer({ dbUrl });
    const env = { DATABASE_URL: dbUrl, ADW_HOME: srv.home, ADW_WORKDIR: srv.workdir };
    const until = async (name, statuses) => {
      for (let i = 0; i < 400; i++) {
        const a = JSON.parse(adw(['--json', 'show', name], env).stdout).adw;
        if (statuses.includes(a.status)) return a;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${name} never reached ${statuses}`);
    };
    try {
      let r = adw(['start', 'plan_build', 'Steer me [dry-run:delay=1500]', '--name', 'cli-steer'], env);
      assert.equal(r.status, 0, r.stderr);
      await until('cli-steer', ['in_progress']);
      r = adw(['pause', 'cli-steer', '--reason', 'reading the plan'], env);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /adw cli-steer: pause sent \(message \d+\); it acts at its next checkpoint/);
      assert.equal((await until('cli-steer', ['paused'])).pause_reason, 'reading the plan');
      r = adw(['pause', 'cli-steer'], env);
      assert.match(r.stdout, /nothing to do: already paused/);
      r = adw(['say', 'cli-steer', 'Keep the diff small'], env);
      assert.equal(r.status, 0, r.stderr);
      r = adw(['resume', 'cli-steer'], env);
      assert.equal(r.status, 0, r.stderr);
      assert.equal((await until('cli-steer', ['completed', 'failed', 'cancelled'])).status, 'completed');
      r = adw(['thread', 'cli-steer'], env);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /user\s+pause\s+processed\s+reading the plan/);
      assert.match(r.stdout, /user\s+instruction\s+processed\s+Keep the diff small/);
      assert.match(r.stdout, /system\s+comment\s+processed\s+Paused/);
      const thread = JSON.parse(adw(['--json', 'thread', 'cli-steer'], env).stdout).messages;
      assert.ok(thread.filter((m) => m.sender === 'user').every((m) => m.metadata.source === 'cli'));

      r = adw(['start', 'plan_build', 'Ask me [dry-run:ask=Which colour?|red|blue]', '--name', 'cli-ask'], env);
      const waiting = await until('cli-ask', ['awaiting_input']);
      r = adw(['questions'], env);
      assert.match(r.stdout, new RegExp(`${waiting.question.id}  adw cli-ask \\(plan step\\)  pending\n  Which colour\\?\n  options: red \\| blue`));
      r = adw(['answer', waiting.question.id.slice(0, 8), 'blue'], env);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /answered question .* of adw cli-ask: blue/);
      r = adw(['answer', waiting.question.id, 'red'], env);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^adw: answer: question '.*' is already answered/);
      assert.equal((await until('cli-ask', ['completed', 'failed', 'cancelled'])).status, 'completed');

      r = adw(['start', 'plan_build', 'Cancel me [dry-run:delay=1500]', '--name', 'cli-cancel'], env);
      await until('cli-cancel', ['in_progress']);
      r = adw(['redirect', 'cli-cancel', 'Do this instead [dry-run:delay=1500]'], env);
      assert.equal(r.status, 0, r.stderr);
      const m = r.stdout.match(/^redirected: started adw (\S+)  ([0-9a-f-]{36})$/m);
      assert.ok(m, r.stdout);
      const old = await until('cli-cancel', ['cancelled', 'completed', 'failed']);
      assert.equal(old.status, 'cancelled');
      assert.equal(old.redirected_to, m[2]);
      await until(m[2], ['in_progress']);
      r = adw(['cancel', m[2], '--reason', 'enough'], env);
      assert.equal(r.status, 0, r.stderr);
      const nu = await until(m[2], ['cancelled', 'completed', 'failed']);
      assert.equal(nu.status, 'cancelled');
      assert.equal(nu.cancelled_by, 'user via cli');
      r = adw(['say', m[2], 'too late'], env);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^adw: say: adw '.*' already ended \(cancelled\)/);

      // Usage errors exit 2, unknown targets 1.
      assert.equal(adw(['pause'], env).status, 2);
      assert.equal(adw(['say', 'cli-steer'], env).status, 2);
      assert.equal(adw(['redirect', 'cli-steer', 'a', 'b'], env).status, 2);
      assert.equal(adw(['resume', 'no-such-adw'], env).status, 1);
      assert.equal(adw(['answer', 'xyz', 'a'], env).status, 1);
    } finally {
      await srv.stop();
      srv.cleanup();
    }
  });
});

describe('meson install', () => {
  test('installed to a --prefix, the programs work from any directory with only DATABASE_URL', { timeout: 240000 }, async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'adw-prefix-'));
    const build = mkdtempSync(join(tmpdir(), 'adw-instbuild-'));
    let r = spawnSync('meson', ['setup', build, sourceDir, `--prefix=${prefix}`, '-Dtests=false'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    r = spawnSync('meson', ['install', '-C', build, '--quiet'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    for (const f of ['bin/adw-server', 'bin/adw', 'libexec/adw/adw-run', 'libexec/adw/adw-mcp', 'share/adw/migrations/005_steering.sql',
      'share/adw/web/index.html', 'share/adw/prompts/plan.md', 'share/adw/adws/workflows/plan_build.json']) {
      assert.ok(existsSync(join(prefix, f)), f);
    }
    rmSync(build, { recursive: true, force: true });
    const cwd = mkdtempSync(join(tmpdir(), 'adw-anywhere-'));
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('ADW_') && k !== 'ADW_TEST_DATABASE_URL') delete env[k];
    const dbUrl = createDatabase('inst');
    const cli = spawnSync(join(prefix, 'bin/adw'), ['workflows'], { env: { ...env, DATABASE_URL: dbUrl }, cwd, encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /plan_build_review/);
    const s = await startServer({ dbUrl, serverBin: join(prefix, 'bin/adw-server'), cwd, env: { ADW_DATA_DIR: '', ADW_RUN_BIN: '' } });
    try {
      assert.equal((await api(s.url, 'GET', '/api/workflows')).body.workflows.length, 3);
      assert.equal((await fetch(s.url + '/')).status, 200);
      const a = (await api(s.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Installed' })).body.adw;
      assert.equal((await waitForAdw(s.url, a.id)).status, 'completed');
    } finally { await s.stop(); s.cleanup(); rmSync(prefix, { recursive: true, force: true }); rmSync(cwd, { recursive: true, force: true }); }
  });
});
