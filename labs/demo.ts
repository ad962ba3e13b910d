// Placeholder replaced once the lab library lands (see labs/lib/).
console.error('demo: the lab library is not in yet');
process.exit(1);
