//! The OWASP API Security Top 10 (2023), with the 2019 name each risk had.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwaspRisk {
    Api1ObjectLevelAuthorization,
    Api2Authentication,
    Api3PropertyLevelAuthorization,
    Api4ResourceConsumption,
    Api5FunctionLevelAuthorization,
    Api6SensitiveBusinessFlows,
    Api7Ssrf,
    Api8Misconfiguration,
    Api9Inventory,
    Api10UnsafeConsumption,
}

impl OwaspRisk {
    /// The 2023 identifier and name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Api1ObjectLevelAuthorization => "API1:2023 Broken Object Level Authorization",
            Self::Api2Authentication => "API2:2023 Broken Authentication",
            Self::Api3PropertyLevelAuthorization => {
                "API3:2023 Broken Object Property Level Authorization"
            }
            Self::Api4ResourceConsumption => "API4:2023 Unrestricted Resource Consumption",
            Self::Api5FunctionLevelAuthorization => "API5:2023 Broken Function Level Authorization",
            Self::Api6SensitiveBusinessFlows => {
                "API6:2023 Unrestricted Access to Sensitive Business Flows"
            }
            Self::Api7Ssrf => "API7:2023 Server Side Request Forgery",
            Self::Api8Misconfiguration => "API8:2023 Security Misconfiguration",
            Self::Api9Inventory => "API9:2023 Improper Inventory Management",
            Self::Api10UnsafeConsumption => "API10:2023 Unsafe Consumption of APIs",
        }
    }

    /// What the 2019 list called it.
    pub fn name_2019(self) -> &'static str {
        match self {
            Self::Api1ObjectLevelAuthorization => "API1:2019 Broken Object Level Authorization",
            Self::Api2Authentication => "API2:2019 Broken User Authentication",
            Self::Api3PropertyLevelAuthorization => {
                "API3:2019 Excessive Data Exposure + API6:2019 Mass Assignment"
            }
            Self::Api4ResourceConsumption => "API4:2019 Lack of Resources & Rate Limiting",
            Self::Api5FunctionLevelAuthorization => "API5:2019 Broken Function Level Authorization",
            Self::Api6SensitiveBusinessFlows => "(new in 2023)",
            Self::Api7Ssrf => "(new in 2023; was part of API8:2019 Injection)",
            Self::Api8Misconfiguration => "API7:2019 Security Misconfiguration",
            Self::Api9Inventory => "API9:2019 Improper Assets Management",
            Self::Api10UnsafeConsumption => "(new in 2023)",
        }
    }
}

impl fmt::Display for OwaspRisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
