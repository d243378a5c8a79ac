import { InvalidArgumentError, Option } from 'commander';

export function databaseOption(): Option {
  return new Option(
    '--database <url>',
    'sqlite:./data/scimitar.db (default) or postgres://user:pass@host/db (SCIMITAR_DATABASE)',
  );
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number');
  return port;
}
