// Public surface of @atomizer/protocol. Only what is listed here may be imported by other packages.
export {};
