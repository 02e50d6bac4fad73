/** Settings of the agent_loop processor (docs/painpoints.md; docs/configuration.md). */
import { z } from 'zod';
import { zDuration } from '../../src/config/duration.js';

export const agentLoopConfigSchema = z.strictObject({
  /** the same tool with the same arguments this many times in one invocation, no new call between → a loop */
  repeats: z.number().int().min(2).default(3),
  /** an A→B→A→B ping-pong of this many cycles with the same arguments → a loop */
  ping_pong_cycles: z.number().int().min(2).default(3),
  /** more model turns than this in one invocation → a loop; 0 disables the rule */
  max_turns: z.number().int().min(0).default(25),
  /** high (else medium) when the loop's calls take at least this share of their run's tokens or time */
  high_share: z.number().min(0).max(1).default(0.2),
  /** an invocation with no call for this long (event time) is over: its loop clears */
  idle_timeout: zDuration.default(300_000),
  /** invocations followed at once; past it the least recently active is forgotten (counted) */
  max_invocations: z.number().int().positive().default(10_000),
  /** distinct calls (tool + arguments) remembered per invocation; the oldest is forgotten first (counted) */
  max_calls_per_invocation: z.number().int().min(4).default(256),
  /** runs whose tokens and time are kept for the share rule; the least recently active is forgotten (counted) */
  max_runs: z.number().int().positive().default(10_000),
});
export type AgentLoopConfig = z.output<typeof agentLoopConfigSchema>;
