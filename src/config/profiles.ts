import type { ConfigValues } from './read.js';
import type { ProfileChoice } from './settings.js';

/**
 * What each `--profile` / `MICRO_PROFILE` / `profile` sets: the registry, broker and transport of
 * a whole stack in one word. A flag or variable naming one of them wins over the profile, and a
 * component given in code wins over both.
 *
 * `local` is go-micro's own profile of that name (go-micro.dev/v5 service/profile LocalProfile:
 * mDNS registry, HTTP broker, HTTP transport), which is also exactly what a go-micro service
 * started with no flags uses (`registry.DefaultRegistry`, `broker.DefaultBroker`,
 * `server.NewRPCServer` on `transport.NewHTTPTransport`); `go-micro` says the same in words a
 * tsmicro user looks for.
 */
const GO_MICRO_DEFAULTS: Readonly<Pick<ConfigValues, 'registry' | 'broker' | 'transport'>> =
  Object.freeze({
    registry: 'mdns',
    broker: 'http',
    transport: 'http',
  });

export const PROFILES: Readonly<
  Record<ProfileChoice, Readonly<Pick<ConfigValues, 'registry' | 'broker' | 'transport'>>>
> = Object.freeze({
  local: GO_MICRO_DEFAULTS,
  'go-micro': GO_MICRO_DEFAULTS,
});
