import fc from 'fast-check';
import { BoundedLru } from '../../../functions/shared/cache/bounded-lru';

describe('Class: BoundedLru', () => {
  it('evicts the least recently used entry, counting reads as use', () => {
    const lru = new BoundedLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
  });

  it('never holds more than max entries and always keeps the latest write (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 12 }))),
        (max, operations) => {
          const lru = new BoundedLru<number, number>(max);
          for (const [write, key] of operations) {
            if (write) {
              lru.set(key, key * 10);
              expect(lru.get(key)).toBe(key * 10);
            } else {
              const value = lru.get(key);
              if (value !== undefined) expect(value).toBe(key * 10);
            }
            expect(lru.size).toBeLessThanOrEqual(max);
          }
        },
      ),
    );
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new BoundedLru(0)).toThrow(RangeError);
  });
});
