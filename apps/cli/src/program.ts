import { didYouMean, StrataError } from '@strata/sdk';
import { Command } from 'commander';
import { commandGroups } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('strata')
    .description('Strata: a feature store for TypeScript ML teams, orchestrated by Temporal')
    .version('0.1.0')
    .option('-c, --config <file>', 'strata.yaml (default: ./strata.yaml or a parent folder, or STRATA_CONFIG)')
    .option('-p, --project <name>', 'project (overrides strata.yaml and STRATA_PROJECT)')
    .option('--json', 'machine-readable output')
    .option('--server <url>', 'use a Strata server instead of the stores (or server.url / STRATA_SERVER_URL)')
    .option('--api-key <key>', 'API key for --server (or server.apiKey / STRATA_API_KEY)')
    .showHelpAfterError();
  for (const register of commandGroups) register(program);
  // An unknown command is an error (exit 3) that names the closest command, not help and exit 0.
  program.showSuggestionAfterError(false);
  program.on('command:*', (operands: string[]) => {
    const name = operands[0] ?? '';
    const known = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
    throw new StrataError('INVALID_INPUT', `unknown command '${name}'${didYouMean(name, known)}`, {
      where: 'strata',
      hint: `run \`strata --help\` for the commands (${known.join(', ')})`,
    });
  });
  return program;
}
