// A TCP proxy for fault tests: forwards 127.0.0.1:<port> to a target; cut() stops forwarding in
// both directions without closing anything (a network partition as the endpoints see it: the
// connections stay up, the bytes stop), restore() forwards again.
import net from 'node:net';

export class TcpProxy {
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private cutNow = false;
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    const proxy = new TcpProxy(server, typeof addr === 'object' && addr !== null ? addr.port : 0);
    server.on('connection', (down) => {
      const up = net.connect(targetPort, targetHost);
      const pair: [net.Socket, net.Socket] = [down, up];
      proxy.pairs.add(pair);
      for (const [a, b] of [
        [down, up],
        [up, down],
      ] as const) {
        a.on('data', (d: Buffer) => {
          if (!proxy.cutNow) b.write(d);
        });
        a.on('error', () => undefined);
        a.on('close', () => {
          proxy.pairs.delete(pair);
          b.destroy();
        });
      }
      if (proxy.cutNow) {
        down.pause();
        up.pause();
      }
    });
    return proxy;
  }

  /** Stop forwarding: nothing is read any more, so both ends' send buffers fill (TCP backpressure). */
  cut(): void {
    this.cutNow = true;
    for (const [a, b] of this.pairs) {
      a.pause();
      b.pause();
    }
  }

  restore(): void {
    this.cutNow = false;
    for (const [a, b] of this.pairs) {
      a.resume();
      b.resume();
    }
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((r) => {
      this.server.close(() => {
        r();
      });
    });
  }
}
