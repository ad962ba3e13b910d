/**
 * Fields shared by every swarm object of the control API, in the Docker Engine API
 * shapes (v1.41). `Version.Index` is the Raft index of the object's last change and
 * is what updates must quote (`?version=N`) for optimistic concurrency.
 */

export interface ObjectVersion {
  Index: number;
}

/** The metadata every stored object carries. Times are RFC 3339 strings, as Docker sends them. */
export interface Meta {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
}

export interface Annotations {
  Name: string;
  Labels: Record<string, string>;
}

export interface Driver {
  Name: string;
  Options?: Record<string, string>;
}

export interface Platform {
  Architecture: string;
  OS: string;
}
