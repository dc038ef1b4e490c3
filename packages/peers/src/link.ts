/**
 * Peer links (WebSocket, authenticated, reconnecting) for stick-table
 * exchange between Switchyard nodes. Nothing is implemented yet: the package
 * exists so the workspace layout is the final one; its issue brings the code.
 */
export {};
