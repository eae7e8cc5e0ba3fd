// A TCP proxy in front of the private PostgreSQL's Unix socket that can
// lose the answer to a COMMIT: once a client has sent a statement containing
// `after` (a piece of SQL text), the proxy forwards that client's next
// COMMIT to the server, waits for the server's answer (the transaction has
// then committed), and closes both sides instead of passing it on. The
// client sees its connection lost during COMMIT: an ambiguous commit.
// Everything else is forwarded byte for byte (the wire protocol is not
// parsed; the SQL texts of Parse and Query messages are found in the stream).
import net from 'node:net';

/**
 * Starts the proxy for conninfo `dbUrl` (host = the socket directory).
 * Resolves to { url, cuts, close() }: url is dbUrl with host=127.0.0.1 and
 * the proxy's port; cuts counts the answers it dropped (at most one).
 */
export async function pgProxy(dbUrl, after) {
  const host = /host=(\S+)/.exec(dbUrl)[1];
  const port = (/port=(\d+)/.exec(dbUrl) || [, '5432'])[1];
  const path = `${host}/.s.PGSQL.${port}`;
  const sockets = new Set();
  const proxy = { cuts: 0 };
  let armed = true;
  const server = net.createServer((client) => {
    const upstream = net.createConnection(path);
    sockets.add(client); sockets.add(upstream);
    let seen = '';      // client bytes since the last match, as latin1 text
    let state = 'watch'; // watch -> commit (saw `after`) -> cut (COMMIT sent)
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('data', (d) => {
      if (armed && state !== 'cut') {
        seen = (seen + d.toString('latin1')).slice(-65536);
        if (state === 'watch' && seen.includes(after)) {
          state = 'commit';
          seen = seen.slice(seen.indexOf(after) + after.length);
        }
        if (state === 'commit' && seen.includes('\0COMMIT\0')) {
          state = 'cut';
          armed = false;
        }
      }
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (state === 'cut') {
        proxy.cuts++;
        end();
        return;
      }
      client.write(d);
    });
    client.on('error', end); upstream.on('error', end);
    client.on('close', end); upstream.on('close', end);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = dbUrl.replace(/host=\S+/, 'host=127.0.0.1').replace(/port=\d+/, `port=${server.address().port}`);
  if (!/port=/.test(proxy.url)) proxy.url += ` port=${server.address().port}`;
  proxy.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  };
  return proxy;
}
