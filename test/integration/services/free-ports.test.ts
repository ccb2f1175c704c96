import { createServer } from 'node:net';
import { startOpenBao } from './openbao';
import { freePortAndNext } from './process';

/** Whether 127.0.0.1:`port` can be listened on now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe('Function: freePortAndNext', () => {
  it('gives a port that is free, and whose next port is free too', async () => {
    // Act
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePortAndNext()));

    // Assess
    for (const port of ports) {
      expect(await canListen(port)).toBe(true);
      expect(await canListen(port + 1)).toBe(true);
    }
  });
});

describe('Function: startOpenBao', () => {
  it('is reached on its port, and its dev-mode cluster listener took the next one, which was free', async () => {
    // Act
    const bao = await startOpenBao();

    try {
      // Assess: the reason for freePortAndNext; OpenBao moving its cluster port shows here.
      const port = Number(new URL(bao.address).port);
      expect((await fetch(`${bao.address}/v1/sys/health`)).status).toBe(200);
      expect(bao.process.output()).toContain(`cluster address: "127.0.0.1:${port + 1}"`);
      expect(await canListen(port + 1)).toBe(false);
    } finally {
      await bao.process.stop();
    }
  });
});
