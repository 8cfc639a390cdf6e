// The lean WebSocket client against a raw TCP server that speaks RFC 6455 by hand, so that every
// byte boundary, frame size and control frame is under the test's control.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { LeanWebSocket, type FrameSink } from './wsclient.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(hdr + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (hdr === 2) out[1] = len;
  else if (hdr === 4) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(len, 6);
  }
  payload.copy(out, hdr);
  return out;
}

/** Reads masked client frames from a byte stream. */
function clientFrames(buf: Buffer): { opcode: number; payload: Buffer }[] {
  const frames = [];
  let off = 0;
  while (off + 2 <= buf.length) {
    assert.ok(buf.readUInt8(off + 1) & 0x80, 'client frames are masked');
    let len = buf.readUInt8(off + 1) & 0x7f;
    let hdr = 2;
    if (len === 126) {
      len = buf.readUInt16BE(off + 2);
      hdr = 4;
    }
    const mask = buf.subarray(off + hdr, off + hdr + 4);
    const payload = Buffer.from(buf.subarray(off + hdr + 4, off + hdr + 4 + len));
    for (let i = 0; i < payload.length; i++)
      payload[i] = payload.readUInt8(i) ^ mask.readUInt8(i & 3);
    frames.push({ opcode: buf.readUInt8(off) & 0x0f, payload });
    off += hdr + 4 + len;
  }
  return frames;
}

/** A server that completes the handshake, then lets the test drive the socket. */
async function rawServer(
  onUpgraded: (sock: net.Socket, fromClient: () => Buffer) => void,
  accept?: string,
) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    let head = Buffer.alloc(0);
    let received = Buffer.alloc(0);
    let upgraded = false;
    sock.on('data', (d) => {
      if (upgraded) {
        received = Buffer.concat([received, d]);
        return;
      }
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const key = (/Sec-WebSocket-Key: (.+)\r\n/i.exec(head.toString())?.[1] ?? '').trim();
      const acc =
        accept ??
        createHash('sha1')
          .update(key + GUID)
          .digest('base64');
      sock.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\n\r\n`,
      );
      upgraded = true;
      received = head.subarray(end + 4);
      onUpgraded(sock, () => received);
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          r();
        });
      }),
  };
}

class Collect implements FrameSink {
  texts: string[] = [];
  opened = false;
  closed: { code: number; reason: string; error: Error | null } | null = null;
  private waiters: (() => void)[] = [];
  onOpen() {
    this.opened = true;
  }
  onText(buf: Buffer, start: number, end: number) {
    this.texts.push(buf.toString('utf8', start, end));
    this.waiters.splice(0).forEach((w) => {
      w();
    });
  }
  onClose(code: number, reason: string, error: Error | null) {
    this.closed = { code, reason, error };
    this.waiters.splice(0).forEach((w) => {
      w();
    });
  }
  async until(cond: () => boolean, ms = 5000): Promise<void> {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error('timed out');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }
}

test('frames split at every byte, 16- and 64-bit lengths, fragments: all delivered intact and in order', async () => {
  const small = 'a'.repeat(100);
  const medium = 'b'.repeat(300);
  const large = 'c'.repeat(70_000);
  const bytes = Buffer.concat([
    serverFrame(1, Buffer.from(small)),
    serverFrame(1, Buffer.from(medium)),
    serverFrame(1, Buffer.from('frag-'), false),
    serverFrame(0, Buffer.from('men'), false),
    serverFrame(0, Buffer.from('ted')),
    serverFrame(1, Buffer.from(large)),
    serverFrame(1, Buffer.from('')),
    serverFrame(1, Buffer.from('last')),
  ]);
  const srv = await rawServer((sock) => {
    sock.setNoDelay(true);
    // Byte by byte for the first 500 bytes (every header split), then odd-sized slices.
    let i = 0;
    const next = (): void => {
      if (i >= bytes.length || sock.destroyed) return;
      const n = i < 500 ? 1 : 997;
      sock.write(bytes.subarray(i, i + n));
      i += n;
      setImmediate(next);
    };
    next();
  });
  const sink = new Collect();
  const ws = new LeanWebSocket(
    { host: '127.0.0.1', port: srv.port, path: '/', timeoutMs: 5000 },
    sink,
  );
  try {
    await sink.until(() => sink.texts.length === 6);
    assert.deepEqual(sink.texts, [small, medium, 'frag-mented', large, '', 'last']);
  } finally {
    ws.terminate();
    await srv.close();
  }
});

test('ping is answered with a masked pong carrying the same payload; sendText is masked', async () => {
  let fromClient: (() => Buffer) | null = null;
  let sock: net.Socket | null = null;
  const srv = await rawServer((s, f) => {
    sock = s;
    fromClient = f;
    s.write(serverFrame(9, Buffer.from('are-you-there')));
  });
  const sink = new Collect();
  const ws = new LeanWebSocket(
    { host: '127.0.0.1', port: srv.port, path: '/', timeoutMs: 5000 },
    sink,
  );
  try {
    await sink.until(
      () => sink.opened && fromClient !== null && clientFrames(fromClient()).length >= 1,
    );
    ws.sendText('{"op":"ping","id":1}');
    const read = (): Buffer => fromClient?.() ?? Buffer.alloc(0);
    await sink.until(() => clientFrames(read()).length >= 2);
    const frames = clientFrames(read());
    assert.equal(frames[0]?.opcode, 0xa);
    assert.equal(frames[0].payload.toString(), 'are-you-there');
    assert.equal(frames[1]?.opcode, 0x1);
    assert.equal(frames[1].payload.toString(), '{"op":"ping","id":1}');
    assert.ok(sock);
  } finally {
    ws.terminate();
    await srv.close();
  }
});

test('a server close frame is echoed and reported with its code and reason', async () => {
  let fromClient: () => Buffer = () => Buffer.alloc(0);
  const srv = await rawServer((s, f) => {
    fromClient = f;
    const body = Buffer.concat([Buffer.from([0x03, 0xe9]), Buffer.from('going away')]); // 1001
    s.write(serverFrame(8, body));
  });
  const sink = new Collect();
  const ws = new LeanWebSocket(
    { host: '127.0.0.1', port: srv.port, path: '/', timeoutMs: 5000 },
    sink,
  );
  try {
    await sink.until(() => sink.closed !== null);
    assert.equal(sink.closed?.code, 1001);
    assert.equal(sink.closed.reason, 'going away');
    const echo = clientFrames(fromClient());
    assert.equal(echo[0]?.opcode, 0x8);
    assert.equal(echo[0].payload.readUInt16BE(0), 1001);
  } finally {
    ws.terminate();
    await srv.close();
  }
});

test('a dropped connection reports 1006; a bad Sec-WebSocket-Accept fails the handshake', async () => {
  const srv = await rawServer((s) => s.destroy());
  const sink = new Collect();
  new LeanWebSocket({ host: '127.0.0.1', port: srv.port, path: '/', timeoutMs: 5000 }, sink);
  await sink.until(() => sink.closed !== null);
  assert.equal(sink.closed?.code, 1006);
  await srv.close();

  const liar = await rawServer(() => {}, 'not-the-right-accept');
  const sink2 = new Collect();
  new LeanWebSocket({ host: '127.0.0.1', port: liar.port, path: '/', timeoutMs: 5000 }, sink2);
  await sink2.until(() => sink2.closed !== null);
  assert.equal(sink2.opened, false);
  assert.match(String(sink2.closed?.error?.message), /Sec-WebSocket-Accept/);
  await liar.close();
});

test('a server that never answers the upgrade times out', async () => {
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const sink = new Collect();
  new LeanWebSocket(
    {
      host: '127.0.0.1',
      port: (silent.address() as net.AddressInfo).port,
      path: '/',
      timeoutMs: 300,
    },
    sink,
  );
  try {
    await sink.until(() => sink.closed !== null);
    assert.match(String(sink.closed?.error?.message), /timed out after 300 ms/);
  } finally {
    silent.close();
  }
});
