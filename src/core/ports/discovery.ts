/**
 * LAN discovery (SSDP in production): advertises this node and reports where other nodes say
 * their signed announcement is. What it reports is untrusted: the caller fetches the
 * announcement there and verifies it before using the peer.
 * - start() begins advertising and searching; `onFound` gets an https URL of a peer's
 *   announcement (https://IP:PORT/v1/announcement) each time one is seen, duplicates included.
 * - stop() says goodbye, releases every socket and is idempotent.
 */
export interface LanDiscovery {
  start(onFound: (announcementUrl: string) => void): Promise<void>
  stop(): Promise<void>
}
