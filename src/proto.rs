//! Generated protobuf and gRPC code for the BuildKit API subset in `proto/`.
//! Module paths follow the protobuf packages.
#![allow(clippy::all, clippy::pedantic, missing_docs)]

pub mod grpc {
    pub mod health {
        pub mod v1 {
            tonic::include_proto!("grpc.health.v1");
        }
    }
}

/// LLB, BuildKit's build graph (`proto/ops.proto`).
pub mod pb {
    tonic::include_proto!("pb");
}

/// gRPC status with typed details (`proto/rpc_status.proto`).
pub mod google {
    pub mod rpc {
        tonic::include_proto!("google.rpc");
    }
}

/// Typed BuildKit error details (`proto/errdefs.proto`).
pub mod errdefs {
    tonic::include_proto!("errdefs");
}

/// BuildKit's own API packages (`moby.buildkit.v1.*`).
pub mod moby {
    pub mod buildkit {
        /// The Control service (`proto/control.proto`).
        pub mod v1 {
            tonic::include_proto!("moby.buildkit.v1");

            /// API capabilities (`proto/caps.proto`).
            pub mod apicaps {
                tonic::include_proto!("moby.buildkit.v1.apicaps");
            }

            /// Worker records (`proto/worker.proto`).
            pub mod types {
                tonic::include_proto!("moby.buildkit.v1.types");
            }

            /// The gateway API, LLBBridge (`proto/gateway.proto`).
            pub mod frontend {
                tonic::include_proto!("moby.buildkit.v1.frontend");
            }
        }

        /// Build secrets served on the session (`proto/secrets.proto`).
        pub mod secrets {
            pub mod v1 {
                tonic::include_proto!("moby.buildkit.secrets.v1");
            }
        }
    }

    /// SSH agent forwarding on the session (`proto/sshforward.proto`).
    pub mod sshforward {
        pub mod v1 {
            tonic::include_proto!("moby.sshforward.v1");
        }
    }

    /// Session file transfer and auth services (`proto/filesync.proto`).
    pub mod filesync {
        pub mod v1 {
            tonic::include_proto!("moby.filesync.v1");
        }
    }
}

/// The fsutil transfer wire format (`proto/fsutil.proto`).
pub mod fsutil {
    pub mod types {
        tonic::include_proto!("fsutil.types");
    }
}

/// containerd's content store API, served on the session for `local`
/// cache exports and imports (`proto/content.proto`).
pub mod containerd {
    pub mod services {
        pub mod content {
            pub mod v1 {
                tonic::include_proto!("containerd.services.content.v1");
            }
        }
    }
}
