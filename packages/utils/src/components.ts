/**
 * Reading libp2p's components. libp2p hands every service one components
 * object whose keys are the node's components and services; reading a key
 * that is not configured throws `MissingServiceError` (only `metrics`,
 * `connectionProtector` and `dns` read as undefined), and nothing asks
 * whether a key is set.
 */

/**
 * A service the node may not have: the component `name`, or undefined when
 * the node does not configure it. Any other error of the read is thrown.
 */
export function optionalService<C extends object, K extends keyof C & string> (components: C, name: K): C[K] | undefined {
  try {
    return components[name]
  } catch (err: unknown) {
    if (err instanceof Error && err.name === 'MissingServiceError') {
      return undefined
    }
    throw err
  }
}

/**
 * A view of libp2p's components in which the key `name` reads the service
 * `from`, every other key reading through. Every service of a node gets the
 * same components, so a second instance of a service beside the first (a
 * job board over floodsub, whose pubsub is `floodsub` instead of `pubsub`)
 * is handed this view.
 */
export function serviceAs<C extends object> (components: C, name: string, from: string): C {
  return new Proxy(components, {
    get: (target, prop, receiver) => Reflect.get(target, prop === name ? from : prop, receiver)
  })
}
