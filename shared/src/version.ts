/** The NoodleNet protocol and software version peers advertise in their profiles. */
export const NOODLENET_VERSION = '0.1.0'
