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
