/** How a client reaches Stagedoor: each session, refusal and metric names one. */
export type Protocol = 'rtmp' | 'ws' | 'hls' | 'http';
