"""Equipment state model shared by the OEE and energy apps: a per-machine state timeline (run /
idle / down / planned stop / maintenance / unknown) from a state metric, shift calendars and a
health index. Pure functions over arrays, so the live apps, the bench and the tests compute the
same thing."""
