// One instance per running service, found by its context: tests run several
// services in one process, so process-wide singletons would be shared by them.
// The context is a WeakMap key, so a closed service's instance goes with it.

/** A getter that makes `make(owner)` on first use per owner and returns that same instance after. */
export function perService<Owner extends object, T>(make: (owner: Owner) => T): (owner: Owner) => T {
  const made = new WeakMap<Owner, T>();
  return (owner) => {
    let value = made.get(owner);
    if (value === undefined) {
      value = make(owner);
      made.set(owner, value);
    }
    return value;
  };
}
