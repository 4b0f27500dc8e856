//! BGP wire codec (RFC 4271, 4760, 6793, 2918, 4724, 4456, 1997, 7606). Filled by the
//! speaker issue.
