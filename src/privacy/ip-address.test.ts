import { describe, expect, it } from 'vitest';
import { canonicalIp, isPublicIp } from './ip-address.ts';

describe('canonicalIp / isPublicIp', () => {
  it.each([
    ['81.2.69.160', 4, '81.2.69.160'],
    [' 81.2.69.160\n', 4, '81.2.69.160'],
    ['::ffff:81.2.69.160', 4, '81.2.69.160'],
    ['::FFFF:5102:45a0', 4, '81.2.69.160'],
    ['0:0:0:0:0:ffff:5102:45a0', 4, '81.2.69.160'],
    ['2A00:1450:4001:0:0:0:0:1', 6, '2a00:1450:4001::1'],
    ['fe80::1%eth0', 6, 'fe80::1'],
  ])('%j → IPv%i %s', (input, family, address) => {
    expect(canonicalIp(input)).toEqual({ family, address });
  });

  it.each([
    '',
    'abc',
    '999.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '81.2.69.160/24',
    '81.2.69.160:443',
    '::gg',
    '[::1]',
  ])('%j is not an address', (input) => {
    expect(canonicalIp(input)).toBeUndefined();
    expect(isPublicIp(input)).toBe(false);
  });

  it.each([
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '127.0.0.1',
    '169.254.10.1',
    '100.64.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '192.0.2.1',
    '198.51.100.7',
    '203.0.113.9',
    '::',
    '::1',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '2001:db8::1',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
  ])('%s is not public', (ip) => {
    expect(isPublicIp(ip)).toBe(false);
  });
});
