// Data for `geo-regions.ts`, kept apart so that the table can be reviewed without the matching logic.

/**
 * Reviewed exonyms and DB-IP spellings, per country: `CODE=Name|Other name; …` (the code without
 * the country prefix). Checked before the ISO names, so they also settle the cases where DB-IP uses
 * a region's name that ISO gives to a city ("Kyiv" in DB-IP is Kyiv Oblast, ISO "Kyiv" is the city).
 * Every code here must exist in iso-3166 (a test checks it); each was checked against the cities
 * DB-IP files under the name. Norway: iso-3166 4.4 still lists the 2020–2023 merged counties, and
 * the codes follow the package, so that every region we emit is in the list the rest of the system
 * uses. Deliberately absent: Peru's "Lima region" and "Lima Province" (DB-IP files Lima's
 * metropolitan districts under both, so either code would be a guess), Taiwan's "Taiwan", Serbia's
 * "Central Serbia" (not a subdivision).
 */
export const REGION_ALIASES: Record<string, string> = {
  AE: 'DU=Dubai; AZ=Abu Dhabi; SH=Sharjah; RK=Ras Al Khaimah|Ras al-Khaimah; FU=Fujairah; UQ=Umm Al Quwain',
  AL: '11=Tirana|Tirana County',
  AM: 'ER=Yerevan',
  AR: 'C=Buenos Aires F.D.',
  AT: '3=Lower Austria; 4=Upper Austria; 6=Styria; 7=Tyrol; 2=Carinthia; 9=Vienna|State of Vienna',
  AU: 'ACT=ACT',
  AZ: 'BA=Baku',
  BA: 'BIH=Federation of B&H|Federation of Bosnia and Herzegovina; SRP=Srpska',
  BD: 'B=Chittagong|Chittagong Division; A=Barisal|Barisal Division',
  BE: 'VLG=Flanders; WAL=Wallonia; BRU=Brussels Capital|Brussels',
  BG: '22=Sofia-grad|Sofia-Capital',
  BH: '13=Manama|Capital Governorate',
  BR: 'DF=Federal District',
  BY: 'HM=Minsk City; MI=Minsk; VI=Vitebsk; BR=Brest; HO=Homyel’ Voblasc’|Gomel; MA=Mogilev; HR=Grodnenskaya|Grodno',
  CH: 'GE=Geneva; SG=Saint Gall; LU=Lucerne; GR=Grisons; BS=Basel-City',
  CI: 'AB=Abidjan Autonomous District',
  CL: 'RM=Santiago Metropolitan; AR=Araucania; LI=O’Higgins Region|O’Higgins; AI=Aysen',
  CN: 'GX=Guangxi; XJ=Xinjiang; NM=Inner Mongolia; XZ=Tibet; NX=Ningxia',
  CO: 'DC=Bogota D.C.|Bogota; SAP=San Andres y Providencia',
  CU: '03=Havana',
  CY: '01=Nicosia; 02=Limassol; 03=Larnaca; 05=Paphos; 04=Famagusta',
  CZ:
    '10=Prague|Hlavni mesto Praha; 20=Central Bohemia|Central Bohemian Region; 31=South Bohemian Region;' +
    ' 32=Plzen Region; 41=Carlsbad Region|Karlovy Vary Region; 42=Usti nad Labem Region; 51=Liberec Region;' +
    ' 52=Hradec Kralove Region; 53=Pardubice Region|Pardubicky; 63=Vysocina|Vysocina Region;' +
    ' 64=South Moravian|South Moravian Region; 71=Olomouc Region|Olomoucky; 72=Zlin|Zlin Region;' +
    ' 80=Moravian-Silesian Region|Moravskoslezsky',
  DE:
    'NW=North Rhine-Westphalia; BY=Bavaria; NI=Lower Saxony; HE=Hesse; SN=Saxony; TH=Thuringia; ST=Saxony-Anhalt;' +
    ' BE=State of Berlin; HB=City state Bremen|Free Hanseatic City of Bremen; HH=Free and Hanseatic City of Hamburg;' +
    ' RP=Rhineland-Palatinate; MV=Mecklenburg-Western Pomerania',
  DK: '84=Capital Region; 82=Central Jutland; 83=South Denmark; 85=Zealand; 81=North Denmark',
  DO: '01=Nacional; 25=Santiago Province; 32=Santo Domingo Province',
  DZ: '16=Algiers',
  EE: '79=Tartu; 74=Saare; 39=Hiiumaa; 56=Laane',
  EG: 'GZ=Giza; C=Cairo; ALX=Alexandria',
  ES:
    'AN=Andalusia; CT=Catalonia; CL=Castille and Leon|Castile and Leon; CM=Castille-La Mancha|Castile-La Mancha;' +
    ' PV=Basque Country; CN=Canary Islands; IB=Balearic Islands; NC=Navarre; VC=Valencia',
  FI:
    '11=Tampere; 19=Southwest Finland; 14=North Ostrobothnia|Northern Ostrobothnia; 15=North Savo|Northern Savonia;' +
    ' 08=Central Finland; 10=Lapland; 03=South Ostrobothnia|Southern Ostrobothnia; 12=Ostrobothnia;' +
    ' 02=South Karelia; 04=South Savo|Southern Savonia; 13=North Karelia; 07=Central Ostrobothnia; 18=Newland',
  FR:
    'ARA=Rhone-Alpes|Auvergne; BFC=Bourgogne|Burgundy|Franche-Comte; NAQ=New Aquitaine|Aquitaine|Limousin|Poitou-Charentes;' +
    ' NOR=Normandy|Upper Normandy|Lower Normandy; BRE=Brittany; PAC=Provence; 20R=Corsica;' +
    ' OCC=Languedoc-Roussillon|Midi-Pyrenees; GES=Alsace|Lorraine|Champagne-Ardenne; HDF=Nord-Pas-de-Calais|Picardy',
  GE: 'TB=T’bilisi',
  GR:
    'I=Attica; B=Central Macedonia; J=Peloponnese; G=West Greece; M=Crete; E=Thessaly; H=Central Greece;' +
    ' A=East Macedonia and Thrace; D=Epirus; L=South Aegean; F=Ionian Islands; K=North Aegean; C=West Macedonia;' +
    ' 69=Mount Athos',
  HR:
    '21=Zagreb|City of Zagreb; 01=Zagreb County|County of Zagreb; 17=Split-Dalmatia; 08=Primorje-Gorski Kotar;' +
    ' 18=Istria; 14=County of Osijek-Baranja|Osijek-Baranja; 05=Varazdin; 02=Krapina-Zagorje; 03=Sisak-Moslavina;' +
    ' 20=Medimurje; 13=Zadar; 12=Brod-Posavina|Slavonski Brod-Posavina; 19=Dubrovnik-Neretva; 16=Vukovar-Srijem;' +
    ' 04=Karlovac; 07=Bjelovar-Bilogora; 15=Sibenik-Knin; 06=Koprivnica-Krizevci; 10=Virovitica-Podravina;' +
    ' 11=Pozega-Slavonia; 09=Lika-Senj',
  HU: 'CS=Csongrad|Csongrad County; VE=Veszprem|Veszprem County',
  ID:
    'JK=Jakarta; JB=West Java; JI=East Java; JT=Central Java; SU=North Sumatra; SN=South Sulawesi;' +
    ' KS=South Kalimantan; NB=West Nusa Tenggara; SS=South Sumatra; NT=East Nusa Tenggara; KB=West Kalimantan;' +
    ' SB=West Sumatra; KI=East Kalimantan; SA=North Sulawesi; KT=Central Kalimantan; ST=Central Sulawesi;' +
    ' KR=Riau Islands; SG=Southeast Sulawesi; MU=North Maluku; MA=Maluku; KU=North Kalimantan;' +
    ' BB=Bangka–Belitung Islands; PA=Papua; SR=West Sulawesi; PT=Central Papua; PB=West Papua;' +
    ' PD=Southwest Papua; PS=South Papua; PE=Highland Papua',
  IE: 'C=Connacht',
  IL: 'M=Central District; Z=Northern District; D=Southern District; HA=Haifa|Haifa District; JM=Jerusalem',
  IN: 'PY=Puducherry; AN=Andaman and Nicobar',
  IQ: 'AR=Erbil; SU=Sulaymaniyah; BA=Basra; NI=Nineveh; DA=Duhok',
  IR: '10=Isfahan; 09=Razavi Khorasan; 03=East Azerbaijan; 04=West Azerbaijan',
  IS: '1=Capital Region',
  IT:
    '25=Lombardy; 21=Piedmont; 52=Tuscany; 82=Sicily; 75=Apulia; 57=The Marches;' +
    ' 88=Sardinia; 77=Basilicate; 23=Aosta Valley; 62=Latium',
  JO: 'AM=Amman',
  JP:
    '12=Chiba; 23=Aichi; 40=Fukuoka; 22=Shizuoka; 07=Fukushima; 21=Gifu; 34=Hiroshima; 46=Kagoshima; 09=Tochigi;' +
    ' 19=Yamanashi; 25=Shiga; 35=Yamaguchi; 17=Ishikawa; 39=Kochi; 36=Tokushima; 18=Fukui; 32=Shimane',
  KE: '30=Nairobi County|Nairobi',
  KR:
    '11=Seoul; 26=Busan; 27=Daegu; 28=Incheon; 29=Gwangju; 30=Daejeon; 31=Ulsan; 50=Sejong-si;' +
    ' 42=Gangwon-do|Gangwon; 43=North Chungcheong; 44=South Chungcheong; 45=North Jeolla; 46=South Jeolla;' +
    ' 47=North Gyeongsang; 48=South Gyeongsang; 49=Jeju-do|Jeju',
  KZ: '75=Almaty; 35=Karaganda',
  LA: 'VT=Vientiane Prefecture',
  LK: '1=Western Province; 2=Central Province; 3=Southern Province',
  LT:
    'VL=Vilnius; KU=Kaunas; KL=Klaipeda County; SA=Siauliai; UT=Utena; PN=Panevezys; TE=Telsiai;' +
    ' MR=Marijampole County; AL=Alytus; TA=Taurage County',
  LU: 'LU=Luxembourg',
  MA: '07=Marrakesh-Safi',
  MX: 'VER=Veracruz; CMX=Mexico City; MIC=Michoacan; COA=Coahuila',
  MY: '07=Penang; 14=Kuala Lumpur; 15=Labuan; 16=Putrajaya',
  NG: 'FC=FCT',
  NL: 'NH=North Holland; ZH=South Holland; NB=North Brabant; FR=Friesland',
  NO:
    '30=Akershus|Buskerud|Ostfold; 38=Vestfold|Telemark; 54=Troms|Finnmark; 42=Vest-Agder|Aust-Agder;' +
    ' 46=Sogn og Fjordane|Hordaland',
  NP: 'P4=Gandaki Pradesh',
  NZ: 'WGN=Wellington Region|Wellington; MWT=Manawatu-Wanganui',
  OM: 'MA=Muscat',
  PE: 'CUS=Cuzco Department|Cuzco',
  PG: 'NCD=National Capital',
  PK: 'PB=Punjab; KP=Khyber Pakhtunkhwa; JK=Azad Kashmir',
  PT: '11=Lisbon; 20=Azores; 30=Madeira; 15=District of Setubal',
  PL:
    '14=Mazovia; 24=Silesia; 12=Lesser Poland; 30=Greater Poland; 02=Lower Silesia; 22=Pomerania; 10=Lodz Voivodeship;' +
    ' 06=Lublin; 18=Subcarpathia|Subcarpathian; 32=West Pomerania; 28=Warmia-Masuria; 08=Lubusz;' +
    ' 16=Opole Voivodeship; 20=Podlasie; 04=Kuyavian-Pomeranian; 26=Holy Cross',
  QA: 'DA=Baladiyat ad Dawhah; RA=Baladiyat ar Rayyan',
  RO: 'B=Bucharest',
  RS: '00=Belgrade',
  RU:
    'MOW=Moscow; MOS=Moscow Oblast; SPE=St.-Petersburg|Saint Petersburg; LEN=Leningradskaya Oblast’|Leningrad Oblast;' +
    ' KDA=Krasnodar Krai|Krasnodarskiy; SVE=Sverdlovsk Oblast|Sverdlovsk; PRI=Primorye|Primorskiy (Maritime) Kray;' +
    ' NVS=Novosibirsk Oblast; ROS=Rostov; NIZ=Nizhny Novgorod Oblast; CHE=Chelyabinsk; SAM=Samara Oblast;' +
    ' IRK=Irkutsk Oblast; KYA=Krasnoyarsk Krai|Krasnoyarskiy; STA=Stavropol Kray|Stavropol Krai;' +
    ' PER=Perm Krai|Perm; KHM=Khanty-Mansia; VOR=Voronezh Oblast; VGG=Volgograd Oblast; TYU=Tyumen Oblast;' +
    ' TOM=Tomsk Oblast; VLA=Vladimir Oblast; KEM=Kuzbass; KHA=Khabarovsk; YAR=Yaroslavl Oblast; BEL=Belgorod Oblast;' +
    ' KGD=Kaliningrad Oblast; TVE=Tver Oblast; SA=Sakha; ORE=Orenburg Oblast; TUL=Tula Oblast; KLU=Kaluga Oblast;' +
    ' SAR=Saratov Oblast; YAN=Yamalo-Nenets; MUR=Murmansk; UD=Udmurtiya Republic; RYA=Ryazan Oblast;' +
    ' OMS=Omsk Oblast; ALT=Altay Kray; TA=Tatarstan Republic; BA=Bashkortostan Republic',
  SA:
    '01=Riyadh Region; 02=Mecca Region|Makkah; 03=Medina Region; 04=Eastern Province; 05=Al-Qassim Region;' +
    ' 08=Northern Borders Region; 12=Al Jouf|Al Jawf Region; 14=’Asir Region',
  SK:
    'BL=Bratislava Region|Bratislava; NI=Nitra Region|Nitra|Nitriansky; ZI=Zilina Region|Zilina;' +
    ' PV=Presov Region|Presov|Presovsky; BC=Banska Bystrica Region|Banska Bystrica; TA=Trnava Region|Trnava;' +
    ' TC=Trencin Region|Trencin; KI=Kosice Region|Kosice|Kosicky',
  TH: '10=Bangkok; 31=Buriram; 82=Phang Nga; 16=Lopburi; 39=Nong Bua Lamphu',
  UA:
    '30=Kyiv City; 32=Kyiv; 46=Lviv; 51=Odesa|Odessa; 12=Dnipropetrovsk|Dnipropetrovsk Oblast; 53=Poltava|Poltava Oblast;' +
    ' 63=Kharkiv|Kharkivs’ka Oblast’; 05=Vinnytsia|Vinnytsya Oblast|Vinnitsa; 18=Zhytomyr;' +
    ' 21=Zakarpattia|Transcarpathia; 48=Mykolaiv|Mykolayiv Oblast; 71=Cherkasy|Cherkasy Oblast;' +
    ' 26=Ivano-Frankivsk|Ivano-Frankivsk Oblast; 56=Rivne; 14=Donetsk; 61=Ternopil|Ternopil Oblast;' +
    ' 68=Khmelnytskyi|Khmelnytskyi Oblast|Khmelnytskyy Oblast; 77=Chernivtsi|Chernivtsi Oblast;' +
    ' 35=Kirovohrad|Kirovohrad Oblast; 07=Volyn; 74=Chernihiv; 59=Sumy; 23=Zaporizhzhia|Zaporizhia|Zaporizhzhya Oblast;' +
    ' 65=Kherson|Kherson Oblast; 09=Luhansk; 40=Sebastopol City; 43=Crimea',
  UZ: 'TK=Tashkent',
  VE: 'A=Distrito Federal',
  VN: 'HN=Hanoi; SG=Ho Chi Minh City (HCMC); DN=Da Nang City; CT=Can Tho City; HP=Haiphong',
};
