pragma circom 2.1.0;

include "../node_modules/circomlib/circuits/poseidon.circom";

// Proof of ownership of a batch of B stored objects (docs/SECURITY.md, docs/FORMAT.md §8).
// Private input: proofKey, the share's secret field element.
// Public inputs: the objects' ids and commitments, and the storage node's single-use nonce, that
// node's id and the action (1 = fetch, 2 = delete), so a proof is good for one use at one node.
// Statement: commitment_i == Poseidon(proofKey, objectId_i) for every i.
template Ownership(B) {
    signal input proofKey;
    signal input objectIds[B];
    signal input commitments[B];
    signal input nonce;
    signal input nodeId;
    signal input action;

    component hash[B];
    for (var i = 0; i < B; i++) {
        hash[i] = Poseidon(2);
        hash[i].inputs[0] <== proofKey;
        hash[i].inputs[1] <== objectIds[i];
        commitments[i] === hash[i].out;
    }

    // Groth16's setup already binds every public input (checked in our tests); these quadratic
    // constraints keep nonce and nodeId inside the constraint system as defence in depth.
    signal nonceSquared;
    nonceSquared <== nonce * nonce;
    signal nodeIdSquared;
    nodeIdSquared <== nodeId * nodeId;
    // The action is exactly fetch (1) or delete (2).
    (action - 1) * (action - 2) === 0;
}

component main {public [objectIds, commitments, nonce, nodeId, action]} = Ownership(16);
