// A helper of verify.js: hashes the tickets of one slice of a candidate list with WebCrypto,
// so that a large stratum is hashed on several cores at once. It computes nothing else and
// returns the raw digests (32 bytes per candidate, in list order).
import { CandidateList, allTickets } from "./verify.js";

self.onmessage = async (event) => {
  const { id, seed, stratumId, bytes, starts, ends } = event.data;
  try {
    const digests = await allTickets(seed, stratumId, new CandidateList(bytes, starts, ends));
    self.postMessage({ id, digests }, [digests.buffer]);
  } catch (e) {
    self.postMessage({ id, error: String(e && e.message ? e.message : e) });
  }
};
